import threading

import pytest

import toondb


@pytest.fixture
def kb(db):
    c = db.create_collection("docs", 3)
    c.upsert("a", [1, 0, 0], "Rust storage engines", {"lang": "en"})
    c.upsert("b", [0, 1, 0], "Vector search with HNSW", {"lang": "en"})
    db.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, total REAL)")
    db.execute("INSERT INTO orders(item, total) VALUES (?, ?), (?, ?)", ("book", 12.5, "pen", 2))
    db.put(b"user:name", b"Ada")
    return db


def test_builder_produces_toon_under_budget(kb):
    r = (
        kb.context(300)
        .system("Answer using the documents.")
        .history([("user", "What is HNSW?"), {"role": "assistant", "content": "A graph index."}])
        .search("docs", text="vector search", vector=[0, 1, 0], k=2, name="docs")
        .sql("orders", "SELECT item, total FROM orders WHERE total > ? ORDER BY id", [1])
        .kv_prefix("profile", b"user:")
        .build()
    )
    assert r.total_tokens <= 300 and r.budget == 300
    assert r.text.startswith("system: Answer using the documents.")
    assert "history[2]{role,content}:" in r.text
    assert "orders[2]{item,total}:" in r.text
    assert "Vector search with HNSW" in r.text
    assert [s["name"] for s in r.sections] == ["system", "history", "docs", "orders", "profile"]
    assert str(r) == r.text
    assert r.tokenizer == "o200k_base"


def test_small_budget_truncates(kb):
    big = " ".join(f"word{i}" for i in range(400))
    r = kb.context(60).system("Be brief.").text("notes", big).build()
    assert r.total_tokens <= 60
    notes = [s for s in r.sections if s["name"] == "notes"][0]
    assert notes["truncated"]


def test_context_select(kb):
    stmt = "CONTEXT SELECT SYSTEM 'Be brief.', SEARCH docs 'rust' K 2 AS docs BUDGET 100"
    r = kb.context_query(stmt)
    assert r.total_tokens <= 100 and "Rust storage engines" in r.text
    rows = kb.query(stmt, as_dict=True)
    assert rows[0]["context"] == r.text and rows[0]["tokens"] == r.total_tokens
    with pytest.raises(toondb.InvalidArgumentError):
        kb.context_query("CONTEXT SELECT BUDGET")


def test_builder_errors(kb):
    b = kb.context(100).system("x")
    b.build()
    with pytest.raises(toondb.InvalidArgumentError):
        b.build()
    with pytest.raises(toondb.InvalidArgumentError):
        kb.context(100).search("docs")
    with pytest.raises(toondb.NotFoundError):
        kb.context(100).search("nope", text="x").build()
    with pytest.raises(toondb.InvalidArgumentError):
        kb.context(100, tokenizer="bpe9000")
    with pytest.raises(TypeError):
        kb.context(100).history(["not a message"])


def test_concurrent_context_and_search(kb):
    c = kb.collection("docs")
    errors = []

    def worker():
        try:
            for _ in range(20):
                assert c.search([1, 0, 0], k=1)[0].id == "a"
                assert kb.context(200).search("docs", text="rust", k=1).build().total_tokens <= 200
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []

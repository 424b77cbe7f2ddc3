"""Built-in embeddings: Chroma-style add/query, toondb.embed, typed errors."""
import math
import os

import pytest

import toondb


def _model_or_skip():
    try:
        return toondb.embed("probe")
    except toondb.NotFoundError as e:
        if os.environ.get("TOONDB_REQUIRE_MODEL") == "1":
            raise
        pytest.skip(f"no embedding model: {e}")


def test_embed_returns_unit_vectors_in_order():
    _model_or_skip()
    one = toondb.embed("How do I read a file?")
    assert len(one) == 384
    assert math.isclose(sum(x * x for x in one), 1.0, rel_tol=1e-4)
    many = toondb.embed(["How do I read a file?", "asyncio event loop"])
    assert len(many) == 2
    assert max(abs(a - b) for a, b in zip(many[0], one)) < 1e-5


def test_chroma_style_add_and_query(db):
    _model_or_skip()
    col = db.create_collection("docs")  # no dim: the built-in model's
    assert col.dim == 384
    col.add(
        ids=["a", "b", "c"],
        documents=[
            "The open() function opens a file and returns a file object.",
            "asyncio runs coroutines concurrently on an event loop.",
            "Lists are mutable sequences of items.",
        ],
        metadatas=[{"topic": "io"}, {"topic": "async"}, None],
    )
    r = col.query(query_texts=["run many network requests concurrently"], n_results=2)
    assert r["ids"][0][0] == "b"
    assert r["documents"][0][0].startswith("asyncio")
    assert r["metadatas"][0][0] == {"topic": "async"}
    assert len(r["distances"][0]) == 2
    r = col.query(query_texts=["read a file", "mutable list"], n_results=1, where={"topic": "io"})
    assert r["ids"] == [["a"], ["a"]]
    hits = col.hybrid_search_text("file object", 1)
    assert hits[0].id == "a"
    ctx = db.context_query("CONTEXT SELECT SEARCH docs 'concurrent coroutines' K 1 BUDGET 200")
    assert "asyncio" in str(ctx)


def test_bad_input_raises_typed_errors(db):
    _model_or_skip()
    col = db.create_collection("docs", embedder=True)
    with pytest.raises(toondb.InvalidArgumentError):
        col.add(ids=["x"], documents=[""])
    with pytest.raises(toondb.InvalidArgumentError):
        col.add(ids=["x", "y"], documents=["only one"])
    with pytest.raises(toondb.InvalidArgumentError):
        toondb.embed("x" * (2 << 20))
    # A lone surrogate cannot be encoded as UTF-8: an exception, not a crash.
    with pytest.raises((UnicodeEncodeError, TypeError, ValueError)):
        toondb.embed("bad \ud800 text")
    with pytest.raises(toondb.NotFoundError):
        toondb.embed("x", model="/nonexistent/model/dir")
    plain = db.create_collection("plain", 3)
    with pytest.raises(toondb.InvalidArgumentError):
        plain.query(query_texts=["no embedder here"])

import array

import pytest

import toondb

np = pytest.importorskip("numpy")


@pytest.fixture
def docs(db):
    c = db.create_collection("docs", 3, "cosine")
    c.upsert("a", [1.0, 0.0, 0.0], "Rust storage engines", {"lang": "en", "year": 2021})
    c.upsert("b", np.array([0.0, 1.0, 0.0], dtype=np.float32), "Vector search with HNSW", {"lang": "en", "year": 2024})
    c.upsert("c", array.array("d", [0.0, 0.0, 1.0]), "Datenbanken in Rust", {"lang": "de", "year": 2023})
    return c


def test_vector_inputs_and_search(docs):
    assert len(docs) == 3 and docs.dim == 3 and docs.name == "docs"
    for q in (
        [0.9, 0.1, 0.0],
        (0.9, 0.1, 0.0),
        np.array([0.9, 0.1, 0.0], dtype=np.float64),
        np.array([0.9, 0.1, 0.0], dtype=np.float32),
        np.array([9, 1, 0], dtype=np.int64),
        array.array("f", [0.9, 0.1, 0.0]),
        memoryview(array.array("d", [0.9, 0.1, 0.0])),
        np.array([[0.9, 0.0], [0.1, 0.0], [0.0, 0.0]], dtype=np.float32)[:, 0],  # strided view
    ):
        hits = docs.search(q, k=2)
        assert [h.id for h in hits] == ["a", "b"], q
        assert hits[0].score > hits[1].score
        assert hits[0].distance is not None
    assert docs.search([0.0, 0.0, 1.0], k=1)[0].metadata == {"lang": "de", "year": 2023}


def test_filters(docs):
    q = [1.0, 1.0, 1.0]
    ids = lambda f: sorted(h.id for h in docs.search(q, k=10, filter=f))
    assert ids({"lang": "en"}) == ["a", "b"]
    assert ids({"lang": {"$ne": "en"}}) == ["c"]
    assert ids({"year": {"$gte": 2023}}) == ["b", "c"]
    assert ids({"year": {"$gt": 2021, "$lt": 2024}}) == ["c"]
    assert ids({"lang": {"$in": ["de", "fr"]}}) == ["c"]
    assert ids({"$or": [{"lang": "de"}, {"year": 2021}]}) == ["a", "c"]
    assert ids({"$not": {"lang": "en"}}) == ["c"]
    assert ids({"missing": {"$exists": True}}) == []
    assert ids({"lang": "en", "year": 2024}) == ["b"]
    with pytest.raises(toondb.InvalidArgumentError):
        docs.search(q, filter={"year": {"$regex": "x"}})
    with pytest.raises(TypeError):
        docs.search(q, filter="lang = en")


def test_keyword_and_hybrid(docs):
    kw = docs.keyword_search("rust", k=5)
    assert sorted(h.id for h in kw) == ["a", "c"]
    assert all(h.keyword_score is not None for h in kw)
    hy = docs.hybrid_search("rust", [0.0, 0.0, 1.0], k=3)
    assert hy[0].id == "c"  # first in both rankings
    hy = docs.hybrid_search("rust", [0.0, 0.0, 1.0], k=3, filter={"lang": "en"})
    assert hy[0].id == "a" and all(h.metadata["lang"] == "en" for h in hy)


def test_get_delete_upsert_many(docs):
    d = docs.get("a")
    assert d["id"] == "a" and d["text"] == "Rust storage engines"
    assert d["vector"] == pytest.approx([1.0, 0.0, 0.0])
    # numpy in, numpy out: a float32 array built from one buffer, writable, round-trips.
    v = d["vector"]
    assert isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (3,)
    v[0] = 0.5
    docs.upsert("v", v * 2)
    assert docs.get("v")["vector"].tolist() == [1.0, 0.0, 0.0]  # cosine stores normalised
    docs.delete("v")
    assert docs.get("zzz") is None
    assert docs.delete("a") is True
    assert docs.delete("a") is False
    assert docs.upsert_many(
        [
            {"id": "d", "vector": [0.5, 0.5, 0.0], "text": "more"},
            ("e", np.ones(3), "tuple doc", {"k": [1, 2, {"x": None}]}),
        ]
    ) == 2
    assert len(docs) == 4
    assert docs.get("e")["metadata"] == {"k": [1, 2, {"x": None}]}


def test_bad_input(db, docs):
    with pytest.raises(toondb.InvalidArgumentError):
        docs.upsert("x", [1.0, 2.0])  # wrong dimension
    with pytest.raises(toondb.InvalidArgumentError):
        docs.search([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(toondb.InvalidArgumentError):
        docs.upsert("x", np.ones((3, 1), dtype=np.float32))  # not 1-D
    with pytest.raises(TypeError):
        docs.upsert("x", "abc")
    with pytest.raises(TypeError):
        docs.upsert("x", [1.0, "two", 3.0])
    with pytest.raises(TypeError):
        docs.upsert("x", [1.0, 0.0, 0.0], metadata=["not", "a", "dict"])
    with pytest.raises(toondb.InvalidArgumentError):
        docs.upsert("x", [1.0, 0.0, 0.0], metadata={"bad": float("nan")})
    with pytest.raises(toondb.AlreadyExistsError):
        db.create_collection("docs", 3)
    with pytest.raises(toondb.NotFoundError):
        db.collection("nope")
    with pytest.raises(toondb.InvalidArgumentError):
        db.create_collection("x", 3, metric="manhattan")
    assert len(docs) == 3


def test_collection_persists_and_closes(tmp_path):
    path = tmp_path / "db"
    with toondb.Database.open(path) as db:
        c = db.create_collection("emb", 4, "l2")
        rng = np.random.default_rng(7)
        vecs = rng.standard_normal((50, 4)).astype(np.float32)
        c.upsert_many({"id": f"v{i}", "vector": v} for i, v in enumerate(vecs))
    with pytest.raises(toondb.ClosedError):
        c.search(vecs[0])
    with toondb.Database.open(path) as db:
        assert db.list_collections() == ["emb"]
        c = db.collection("emb")
        assert len(c) == 50
        assert c.search(vecs[17], k=1)[0].id == "v17"
        assert db.drop_collection("emb") is True
        assert db.list_collections() == []

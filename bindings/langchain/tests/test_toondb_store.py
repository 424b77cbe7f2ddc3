"""Behaviour beyond the standard suite: filters, scores, persistence, MMR, retrievers."""

import math

import pytest
import toondb
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from langchain_toondb import ToonDBVectorStore


class AxisEmbedding(Embeddings):
    """Text 'aN' embeds to a vector pointing mostly along axis N (predictable neighbours)."""

    dim = 4

    def _one(self, text: str):
        v = [0.01] * self.dim
        v[int(text.split()[0][1:]) % self.dim] = 1.0
        return v

    def embed_documents(self, texts):
        return [self._one(t) for t in texts]

    def embed_query(self, text):
        return self._one(text)


def test_filter_and_scores():
    store = ToonDBVectorStore(AxisEmbedding())
    store.add_texts(
        ["a0 first", "a1 second", "a0 third"],
        metadatas=[{"lang": "en", "year": 2020}, {"lang": "de", "year": 2021}, {"lang": "de", "year": 2023}],
        ids=["x", "y", "z"],
    )
    hits = store.similarity_search_with_score("a0", k=3)
    assert [d.id for d, _ in hits][:2] in (["x", "z"], ["z", "x"])
    assert hits[0][1] == pytest.approx(0.0, abs=1e-4)  # cosine distance of identical vectors
    only_de = store.similarity_search("a0", k=3, filter={"lang": "de"})
    assert [d.id for d in only_de] == ["z", "y"]
    recent = store.similarity_search("a1", k=3, filter={"year": {"$gte": 2021}})
    assert {d.id for d in recent} == {"y", "z"}
    rel = store.similarity_search_with_relevance_scores("a0", k=1)
    assert rel[0][1] == pytest.approx(1.0, abs=1e-4)
    assert store.similarity_search("a0", k=0) == []


def test_l2_distance_is_euclidean():
    store = ToonDBVectorStore(AxisEmbedding(), metric="euclidean")
    store.add_texts(["a0", "a1"], ids=["p", "q"])
    (doc, d), (_, d2) = store.similarity_search_with_score("a0", k=2)
    assert doc.id == "p" and d == pytest.approx(0.0, abs=1e-4)
    assert d2 == pytest.approx(math.sqrt(2 * 0.99**2), rel=1e-3)


def test_persistence_across_reopen(tmp_path):
    emb = DeterministicFakeEmbedding(size=8)
    with ToonDBVectorStore(emb, path=tmp_path / "kb", collection_name="notes") as store:
        store.add_documents([Document(page_content="kept", metadata={"n": 1}, id="k1")])
    with ToonDBVectorStore(emb, path=tmp_path / "kb", collection_name="notes") as again:
        assert again.get_by_ids(["k1"]) == [Document(page_content="kept", metadata={"n": 1}, id="k1")]
        assert again.similarity_search("kept", k=1)[0].id == "k1"
    db = toondb.open(tmp_path / "kb")  # the collection is a plain ToonDB collection
    assert len(db.collection("notes")) == 1
    db.close()


def test_shared_database_and_from_texts():
    db = toondb.Database.open_in_memory()
    a = ToonDBVectorStore.from_texts(["a0 x"], AxisEmbedding(), ids=["1"], database=db, collection_name="a")
    b = ToonDBVectorStore.from_texts(["a1 y"], AxisEmbedding(), ids=["1"], database=db, collection_name="b")
    assert a.get_by_ids(["1"])[0].page_content == "a0 x"
    assert b.get_by_ids(["1"])[0].page_content == "a1 y"
    a.close()  # the caller owns db: still open
    assert not db.closed
    assert sorted(db.list_collections()) == ["a", "b"]
    db.close()


def test_delete_all_and_dimension_mismatch():
    store = ToonDBVectorStore(AxisEmbedding())
    store.add_texts(["a0", "a1"])
    assert store.delete() is True
    assert store.similarity_search("a0") == []
    store.add_texts(["a2"], ids=["n"])
    assert [d.id for d in store.similarity_search("a2", k=5)] == ["n"]
    store._embedding = DeterministicFakeEmbedding(size=3)
    with pytest.raises(ValueError, match="dimensions"):
        store.add_texts(["wrong size"])


def test_mmr_prefers_diverse_results():
    store = ToonDBVectorStore(AxisEmbedding())
    store.add_texts(["a0 one", "a0 two", "a1 three"], ids=["d1", "d2", "d3"])
    picked = store.max_marginal_relevance_search("a0", k=2, fetch_k=3, lambda_mult=0.1)
    assert picked[0].id in ("d1", "d2") and picked[1].id == "d3"


def test_keyword_hybrid_and_retriever():
    store = ToonDBVectorStore(AxisEmbedding())
    store.add_texts(["a0 the quick brown fox", "a1 lazy dog sleeps"], ids=["f", "d"])
    assert [d.id for d in store.keyword_search("lazy dog", k=1)] == ["d"]
    assert store.hybrid_search("a1 dog", k=1)[0].id == "d"
    retriever = store.as_retriever(search_kwargs={"k": 1})
    assert retriever.invoke("a0 fox")[0].id == "f"


def test_bad_arguments():
    with pytest.raises(ValueError, match="metric"):
        ToonDBVectorStore(AxisEmbedding(), metric="manhattan")
    store = ToonDBVectorStore(AxisEmbedding())
    with pytest.raises(ValueError, match="metadatas"):
        store.add_texts(["a0", "a1"], metadatas=[{}])
    with pytest.raises(TypeError, match="JSON"):
        store.add_texts(["a0"], metadatas=[{"bad": {1, 2}}])  # a set is not JSON

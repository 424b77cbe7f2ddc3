"""LlamaIndex's documented vector-store behaviour against a real ToonDB database: add, query
with metadata filters, delete by ref doc, node ids, keyword/hybrid/MMR modes, persistence,
and use through VectorStoreIndex."""

import pytest
import toondb
from llama_index.core import Document, MockEmbedding, StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index.vector_stores.toondb import ToonDBVectorStore


def node(id, text, emb, ref=None, **meta):
    n = TextNode(id_=id, text=text, embedding=emb, metadata=meta)
    if ref:
        n.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    return n


@pytest.fixture()
def store():
    s = ToonDBVectorStore()
    s.add(
        [
            node("a", "the quick brown fox", [1.0, 0.0, 0.0], ref="doc1", author="ann", year=2020),
            node("b", "lazy dog sleeps", [0.9, 0.1, 0.0], ref="doc1", author="bob", year=2022),
            node("c", "vector databases", [0.0, 1.0, 0.0], ref="doc2", author="ann", year=2024),
        ]
    )
    yield s
    s.close()


def ids(res):
    return list(res.ids)


def test_query_nearest_and_text_roundtrip(store):
    res = store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2))
    assert ids(res) == ["a", "b"]
    assert res.nodes[0].get_content() == "the quick brown fox"
    assert res.nodes[0].metadata == {"author": "ann", "year": 2020}
    assert res.nodes[0].ref_doc_id == "doc1"
    assert res.similarities[0] >= res.similarities[1]


def test_metadata_filters(store):
    q = VectorStoreQuery(
        query_embedding=[1.0, 0.0, 0.0],
        similarity_top_k=3,
        filters=MetadataFilters(filters=[MetadataFilter(key="author", value="ann")]),
    )
    assert ids(store.query(q)) == ["a", "c"]
    q.filters = MetadataFilters(
        filters=[
            MetadataFilter(key="year", value=2022, operator=FilterOperator.GTE),
            MetadataFilter(key="author", value=["bob", "cid"], operator=FilterOperator.IN),
        ],
        condition=FilterCondition.OR,
    )
    assert sorted(ids(store.query(q))) == ["b", "c"]
    q.filters = MetadataFilters(filters=[MetadataFilter(key="author", value="x", operator=FilterOperator.CONTAINS)])
    with pytest.raises(NotImplementedError, match="contains"):
        store.query(q)


def test_doc_and_node_id_restrictions(store):
    q = VectorStoreQuery(query_embedding=[0.0, 1.0, 0.0], similarity_top_k=3, doc_ids=["doc1"])
    assert sorted(ids(store.query(q))) == ["a", "b"]
    q = VectorStoreQuery(query_embedding=[0.0, 1.0, 0.0], similarity_top_k=3, node_ids=["b"])
    assert ids(store.query(q)) == ["b"]


def test_delete_by_ref_doc_and_nodes(store):
    store.delete("doc1")
    res = store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=3))
    assert ids(res) == ["c"]
    store.delete("no-such-doc")
    store.delete_nodes(["c", "missing"])
    assert ids(store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=3))) == []


def test_get_nodes_and_clear(store):
    got = store.get_nodes(["c", "zzz", "a"])
    assert [n.node_id for n in got] == ["c", "a"]
    assert got[0].embedding == pytest.approx([0.0, 1.0, 0.0])
    store.clear()
    assert store.get_nodes(["a"]) == []
    assert list(store.client.scan_prefix(b"llama_index/")) == []


def test_keyword_hybrid_and_mmr(store):
    res = store.query(VectorStoreQuery(query_str="lazy dog", similarity_top_k=1, mode=VectorStoreQueryMode.TEXT_SEARCH))
    assert ids(res) == ["b"]
    res = store.query(
        VectorStoreQuery(
            query_str="vector databases", query_embedding=[0.0, 1.0, 0.0], similarity_top_k=1,
            mode=VectorStoreQueryMode.HYBRID,
        )
    )
    assert ids(res) == ["c"]
    res = store.query(
        VectorStoreQuery(query_embedding=[1.0, 0.05, 0.0], similarity_top_k=2, mode=VectorStoreQueryMode.MMR, mmr_threshold=0.1)
    )
    assert ids(res)[0] == "a" and ids(res)[1] == "c"  # diversity wins over the near-duplicate b


def test_errors():
    s = ToonDBVectorStore()
    with pytest.raises(ValueError):
        s.add([TextNode(id_="x", text="no embedding")])
    s.add([node("x", "t", [1.0, 0.0])])
    with pytest.raises(ValueError, match="dimensions"):
        s.add([node("y", "t", [1.0, 0.0, 0.0])])
    with pytest.raises(ValueError, match="query_embedding"):
        s.query(VectorStoreQuery(similarity_top_k=1))


def test_persistence_and_vector_store_index(tmp_path):
    embed = MockEmbedding(embed_dim=8)
    path = tmp_path / "kb"
    store = ToonDBVectorStore(path=path)
    index = VectorStoreIndex.from_documents(
        [Document(text="ToonDB is an embedded database.", id_="d1"), Document(text="Foxes jump.", id_="d2")],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
    )
    assert len(index.as_retriever(similarity_top_k=2).retrieve("database")) == 2
    store.close()
    again = ToonDBVectorStore(path=path)
    index2 = VectorStoreIndex.from_vector_store(again, embed_model=embed)
    texts = sorted(n.get_content() for n in index2.as_retriever(similarity_top_k=5).retrieve("x"))
    assert texts == ["Foxes jump.", "ToonDB is an embedded database."]
    again.delete("d1")
    assert [n.get_content() for n in index2.as_retriever(similarity_top_k=5).retrieve("x")] == ["Foxes jump."]
    again.close()
    db = toondb.open(path)
    assert len(db.collection("llama_index")) == 1
    db.close()

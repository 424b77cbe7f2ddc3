"""A LlamaIndex vector store over a ToonDB collection (embedded, no server).

Each node is one collection document: the node id is the document id, the node text the
document text (keyword-searchable), and the node's metadata plus LlamaIndex's serialised node
(``_node_content``) the document metadata. A key-value index ``<prefix>/ref/<ref_doc_id>/<node
id>`` makes ``delete(ref_doc_id)`` a prefix scan instead of a search.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import toondb
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

__all__ = ["ToonDBVectorStore"]

_OPS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}
_NODE_ID = "_node_id"


def _to_filter(filters: Optional[MetadataFilters]) -> Optional[Dict[str, Any]]:
    """LlamaIndex metadata filters as a ToonDB filter dict (``None`` for no filter)."""
    if filters is None or not filters.filters:
        return None
    parts = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            sub = _to_filter(f)
            if sub is not None:
                parts.append(sub)
            continue
        op = FilterOperator(getattr(f, "operator", FilterOperator.EQ))
        if op == FilterOperator.IS_EMPTY:
            parts.append({"$not": {f.key: {"$exists": True}}})
            continue
        if op not in _OPS:
            raise NotImplementedError(
                f"ToonDB metadata filters do not support operator {op.value!r} "
                f"(supported: {', '.join(o.value for o in _OPS)}, is_empty)"
            )
        parts.append({f.key: {_OPS[op]: f.value}})
    cond = filters.condition or FilterCondition.AND
    if cond == FilterCondition.NOT:
        return {"$not": {"$and": parts}}
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {"$or" if cond == FilterCondition.OR else "$and": parts}


class ToonDBVectorStore(BasePydanticVectorStore):
    """LlamaIndex vector store backed by a ToonDB collection.

    Args:
        collection_name: the ToonDB collection holding the nodes.
        database: an open ``toondb.Database`` (the caller keeps ownership), or
        path: a database directory to open (created if missing); with neither, in memory.
        metric: ``"cosine"`` (default), ``"l2"`` or ``"ip"`` for a new collection.

    Example:
        .. code-block:: python

            from llama_index.core.schema import TextNode
            from llama_index.core.vector_stores.types import VectorStoreQuery
            from llama_index.vector_stores.toondb import ToonDBVectorStore

            store = ToonDBVectorStore(path="./kb")
            store.add([TextNode(id_="n1", text="ToonDB", embedding=[1.0, 0.0, 0.0])])
            res = store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=1))
    """

    stores_text: bool = True
    flat_metadata: bool = False
    collection_name: str = "llama_index"
    metric: str = "cosine"

    _db: Any = PrivateAttr()
    _owns_db: bool = PrivateAttr(default=False)
    _coll: Any = PrivateAttr(default=None)

    def __init__(
        self,
        collection_name: str = "llama_index",
        *,
        database: Optional["toondb.Database"] = None,
        path: Union[None, str, "os.PathLike[str]"] = None,
        metric: str = "cosine",
        **kwargs: Any,
    ) -> None:
        if database is not None and path is not None:
            raise ValueError("give either database= or path=, not both")
        super().__init__(collection_name=collection_name, metric=metric, **kwargs)
        if database is not None:
            self._db = database
            self._owns_db = False
        else:
            self._db = toondb.open(path) if path is not None else toondb.Database.open_in_memory()
            self._owns_db = True
        self._coll = None
        if collection_name in self._db.list_collections():
            self._coll = self._db.collection(collection_name)

    @classmethod
    def class_name(cls) -> str:
        return "ToonDBVectorStore"

    @property
    def client(self) -> Any:
        """The ``toondb.Database``."""
        return self._db

    def close(self) -> None:
        """Closes the database if this store opened it."""
        if self._owns_db and not self._db.closed:
            self._db.close()

    def _ref_key(self, ref_doc_id: str, node_id: str = "") -> bytes:
        return f"llama_index/{self.collection_name}/ref/{ref_doc_id}\x00{node_id}".encode()

    def _collection_for(self, dim: int) -> Any:
        if self._coll is None:
            self._coll = self._db.create_collection(self.collection_name, dim, self.metric)
        elif self._coll.dim != dim:
            raise ValueError(
                f"node embedding has {dim} dimensions but collection "
                f"{self.collection_name!r} has {self._coll.dim}"
            )
        return self._coll

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> List[str]:
        """Upserts nodes (each must carry its embedding). Returns their ids."""
        if not nodes:
            return []
        docs = []
        for node in nodes:
            emb = node.get_embedding()  # raises ValueError when the node has none
            meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
            meta[_NODE_ID] = node.node_id
            docs.append(
                {
                    "id": node.node_id,
                    "vector": np.asarray(emb, dtype=np.float32),
                    "text": node.get_content(),
                    "metadata": meta,
                }
            )
        coll = self._collection_for(len(docs[0]["vector"]))
        for node in nodes:  # the ref index first: a stale entry is harmless, a missing one is not
            if node.ref_doc_id:
                self._db.put(self._ref_key(node.ref_doc_id, node.node_id), b"")
        coll.upsert_many(docs)
        return [d["id"] for d in docs]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Deletes every node of the source document ``ref_doc_id``."""
        prefix = self._ref_key(ref_doc_id)
        for key, _ in list(self._db.scan_prefix(prefix)):
            node_id = key[len(prefix):].decode()
            if self._coll is not None:
                self._coll.delete(node_id)
            self._db.delete(key)

    def delete_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
        **delete_kwargs: Any,
    ) -> None:
        """Deletes the nodes with these ids (missing ones are ignored)."""
        if filters is not None:
            raise NotImplementedError("ToonDBVectorStore.delete_nodes supports node_ids only")
        if self._coll is None or not node_ids:
            return
        for nid in node_ids:
            d = self._coll.get(nid)
            if d is None:
                continue
            ref = (d.get("metadata") or {}).get("ref_doc_id")
            self._coll.delete(nid)
            if ref and ref != "None":
                self._db.delete(self._ref_key(ref, nid))

    def clear(self) -> None:
        """Deletes every node (drops the collection and its ref index)."""
        if self.collection_name in self._db.list_collections():
            self._db.drop_collection(self.collection_name)
        self._coll = None
        for key, _ in list(self._db.scan_prefix(f"llama_index/{self.collection_name}/ref/".encode())):
            self._db.delete(key)

    def get_nodes(
        self,
        node_ids: Optional[List[str]] = None,
        filters: Optional[MetadataFilters] = None,
    ) -> List[BaseNode]:
        """The nodes with these ids (missing ones skipped)."""
        if filters is not None:
            raise NotImplementedError("ToonDBVectorStore.get_nodes supports node_ids only")
        if self._coll is None or not node_ids:
            return []
        out = []
        for nid in node_ids:
            d = self._coll.get(nid)
            if d is not None:
                node = metadata_dict_to_node(d["metadata"], text=d.get("text"))
                node.embedding = list(d["vector"])
                out.append(node)
        return out

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Vector (default), keyword (``TEXT_SEARCH``/``SPARSE``), hybrid or MMR query with
        metadata filters and optional ``doc_ids``/``node_ids`` restrictions."""
        if self._coll is None or query.similarity_top_k <= 0:
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        parts = [p for p in [_to_filter(query.filters)] if p is not None]
        if query.doc_ids:
            parts.append({"ref_doc_id": {"$in": list(query.doc_ids)}})
        if query.node_ids:
            parts.append({_NODE_ID: {"$in": list(query.node_ids)}})
        flt = None if not parts else parts[0] if len(parts) == 1 else {"$and": parts}
        k = query.similarity_top_k
        mode = query.mode
        if mode in (VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.SPARSE):
            if not query.query_str:
                raise ValueError(f"{mode.value} queries need query_str")
            hits = self._coll.keyword_search(query.query_str, k, filter=flt)
        elif mode == VectorStoreQueryMode.HYBRID:
            if not query.query_str or query.query_embedding is None:
                raise ValueError("hybrid queries need query_str and query_embedding")
            alpha = 0.5 if query.alpha is None else float(query.alpha)
            hits = self._coll.hybrid_search(
                query.query_str,
                np.asarray(query.query_embedding, dtype=np.float32),
                k,
                filter=flt,
                vector_weight=alpha,
                keyword_weight=1.0 - alpha,
            )
        elif mode in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
            if query.query_embedding is None:
                raise ValueError("vector queries need query_embedding")
            qv = np.asarray(query.query_embedding, dtype=np.float32)
            if mode == VectorStoreQueryMode.MMR:
                hits = self._mmr(qv, k, flt, query.mmr_threshold, kwargs)
            else:
                hits = self._coll.search(qv, k, filter=flt)
        else:
            raise NotImplementedError(f"ToonDBVectorStore does not support query mode {mode.value!r}")
        nodes, sims, ids = [], [], []
        for h in hits:
            nodes.append(metadata_dict_to_node(h.metadata, text=h.text))
            sims.append(float(h.score))
            ids.append(h.id)
        return VectorStoreQueryResult(nodes=nodes, similarities=sims, ids=ids)

    def _mmr(self, qv: np.ndarray, k: int, flt: Any, threshold: Optional[float], kwargs: Dict[str, Any]) -> List[Any]:
        from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings

        prefetch = int(kwargs.get("mmr_prefetch_k", max(4 * k, 20)))
        cands = self._coll.search(qv, prefetch, filter=flt)
        if not cands:
            return []
        vecs = [list(self._coll.get(h.id)["vector"]) for h in cands]
        _, picked = get_top_k_mmr_embeddings(
            list(qv), vecs, similarity_top_k=k, embedding_ids=list(range(len(cands))),
            mmr_threshold=threshold if threshold is not None else 0.5,
        )
        return [cands[i] for i in picked]

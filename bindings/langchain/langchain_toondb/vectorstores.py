"""A LangChain ``VectorStore`` over a ToonDB collection.

Documents live in one ToonDB collection: the document id is the collection id, its
``page_content`` the collection text (searchable by keyword too) and its ``metadata`` the
collection metadata (JSON values; filterable with ToonDB's filter dictionaries). The collection
is created on the first write, when the embedding dimension is known, and persists with the
database: reopening the same path and collection name finds the documents again.
"""

from __future__ import annotations

import math
import os
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import toondb
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

__all__ = ["ToonDBVectorStore"]

_METRICS = {
    "cosine": "cosine",
    "cos": "cosine",
    "l2": "l2",
    "euclidean": "l2",
    "ip": "ip",
    "inner_product": "ip",
    "dot": "ip",
}


class ToonDBVectorStore(VectorStore):
    """LangChain vector store backed by a ToonDB collection (embedded, no server).

    Args:
        embedding: the LangChain embedding model used for documents and queries.
        collection_name: name of the ToonDB collection holding the documents.
        database: an open ``toondb.Database`` to use (the caller keeps ownership).
        path: a database directory to open (created if missing) when ``database`` is not
            given; without both, the store lives in memory.
        metric: ``"cosine"`` (default), ``"l2"`` or ``"ip"`` (inner product); used when the
            collection is created, an existing collection keeps its own.
        m, ef_construction, ef_search: HNSW parameters for a new collection (ToonDB's
            defaults when ``None``).

    Example:
        .. code-block:: python

            from langchain_core.embeddings import DeterministicFakeEmbedding
            from langchain_toondb import ToonDBVectorStore

            store = ToonDBVectorStore(DeterministicFakeEmbedding(size=8), path="./kb")
            store.add_texts(["ToonDB is embedded"], metadatas=[{"topic": "db"}], ids=["a"])
            docs = store.similarity_search("embedded", k=1, filter={"topic": "db"})
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        collection_name: str = "langchain",
        database: Optional["toondb.Database"] = None,
        path: Union[None, str, "os.PathLike[str]"] = None,
        metric: str = "cosine",
        m: Optional[int] = None,
        ef_construction: Optional[int] = None,
        ef_search: Optional[int] = None,
    ) -> None:
        if database is not None and path is not None:
            raise ValueError("give either database= or path=, not both")
        key = str(metric).lower()
        if key not in _METRICS:
            raise ValueError(f"unknown metric {metric!r}: use 'cosine', 'l2' or 'ip'")
        self._embedding = embedding
        self._name = collection_name
        self._metric = _METRICS[key]
        self._hnsw = {"m": m, "ef_construction": ef_construction, "ef_search": ef_search}
        self._owns_db = database is None
        if database is not None:
            self._db = database
        elif path is not None:
            self._db = toondb.open(path)
        else:
            self._db = toondb.Database.open_in_memory()
        self._coll: Optional["toondb.Collection"] = None
        if self._name in self._db.list_collections():
            self._coll = self._db.collection(self._name)

    # ------------------------------------------------------------------ plumbing

    @property
    def embeddings(self) -> Embeddings:
        """The embedding model."""
        return self._embedding

    @property
    def database(self) -> "toondb.Database":
        """The ToonDB database holding the collection."""
        return self._db

    @property
    def collection(self) -> Optional["toondb.Collection"]:
        """The ToonDB collection, or ``None`` before the first write."""
        return self._coll

    def close(self) -> None:
        """Closes the database if this store opened it (``path=`` or in memory)."""
        if self._owns_db and not self._db.closed:
            self._db.close()

    def __enter__(self) -> "ToonDBVectorStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _collection_for(self, dim: int) -> "toondb.Collection":
        if self._coll is None:
            kw = {k: v for k, v in self._hnsw.items() if v is not None}
            self._coll = self._db.create_collection(self._name, dim, self._metric, **kw)
        elif self._coll.dim != dim:
            raise ValueError(
                f"embedding has {dim} dimensions but collection {self._name!r} has {self._coll.dim}"
            )
        return self._coll

    @staticmethod
    def _vector(v: Sequence[float]) -> np.ndarray:
        return np.asarray(v, dtype=np.float32)

    @staticmethod
    def _doc(id: str, text: Optional[str], metadata: Optional[Dict[str, Any]]) -> Document:
        return Document(id=id, page_content=text or "", metadata=dict(metadata or {}))

    def _distance(self, hit: Any) -> float:
        d = hit.distance
        if d is None:
            return float(-hit.score)
        if self._coll is not None and self._metric == "l2":
            # ToonDB's L2 metric is the squared distance; LangChain expects the distance.
            return math.sqrt(max(float(d), 0.0))
        return float(d)

    # ------------------------------------------------------------------ writes

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: Optional[List[Dict[str, Any]]] = None,
        *,
        ids: Optional[List[Optional[str]]] = None,
        **kwargs: Any,
    ) -> List[str]:
        """Embeds and upserts texts; an existing id is replaced. Returns the ids."""
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        if not texts:
            return []
        out = [str(i) if i is not None else str(uuid.uuid4()) for i in (ids or [None] * len(texts))]
        vectors = self._embedding.embed_documents(texts)
        if len(vectors) != len(texts):
            raise ValueError(f"the embedding returned {len(vectors)} vectors for {len(texts)} texts")
        coll = self._collection_for(len(vectors[0]))
        docs = [
            {
                "id": id,
                "vector": self._vector(v),
                "text": t,
                "metadata": dict(metadatas[i]) if metadatas and metadatas[i] else {},
            }
            for i, (id, t, v) in enumerate(zip(out, texts, vectors))
        ]
        coll.upsert_many(docs)
        return out

    def add_documents(self, documents: List[Document], **kwargs: Any) -> List[str]:
        """Upserts documents; ids come from ``ids=``, else ``Document.id``, else new UUIDs."""
        ids = kwargs.pop("ids", None)
        if ids is None:
            ids = [d.id for d in documents]
        return self.add_texts(
            [d.page_content for d in documents],
            [d.metadata for d in documents],
            ids=ids,
            **kwargs,
        )

    def delete(self, ids: Optional[List[str]] = None, **kwargs: Any) -> Optional[bool]:
        """Deletes the given ids (missing ones are ignored); ``ids=None`` deletes every
        document (drops the collection). Returns True."""
        if ids is None:
            self.delete_collection()
            return True
        if self._coll is None:
            return True
        for id in ids:
            self._coll.delete(str(id))
        return True

    def delete_collection(self) -> None:
        """Drops the collection and every document in it."""
        if self._name in self._db.list_collections():
            self._db.drop_collection(self._name)
        self._coll = None

    # ------------------------------------------------------------------ reads

    def get_by_ids(self, ids: Sequence[str], /) -> List[Document]:
        """The documents with these ids, in the given order; missing ids are skipped."""
        if self._coll is None:
            return []
        out = []
        for id in ids:
            d = self._coll.get(str(id))
            if d is not None:
                out.append(self._doc(d["id"], d.get("text"), d.get("metadata")))
        return out

    def similarity_search_with_score_by_vector(
        self,
        embedding: List[float],
        k: int = 4,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Tuple[Document, float]]:
        """The ``k`` nearest documents with their distance (lower is closer): cosine
        distance, Euclidean distance or negative inner product by metric."""
        if self._coll is None or k <= 0:
            return []
        ef = kwargs.get("ef_search")
        hits = self._coll.search(self._vector(embedding), k, filter=filter, ef_search=ef)
        return [(self._doc(h.id, h.text, h.metadata), self._distance(h)) for h in hits]

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Tuple[Document, float]]:
        """Embeds ``query`` and returns the ``k`` nearest documents with their distance."""
        if self._coll is None:
            return []
        return self.similarity_search_with_score_by_vector(
            self._embedding.embed_query(query), k, filter=filter, **kwargs
        )

    def similarity_search_by_vector(
        self,
        embedding: List[float],
        k: int = 4,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Document]:
        """The ``k`` nearest documents to a vector."""
        return [d for d, _ in self.similarity_search_with_score_by_vector(embedding, k, filter, **kwargs)]

    def similarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Document]:
        """The ``k`` documents nearest to ``query``; ``filter`` is a ToonDB filter dict
        (``{"topic": "db"}``, ``{"year": {"$gte": 2020}}``, ``{"$or": [...]}``)."""
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def keyword_search(self, query: str, k: int = 4, filter: Optional[Dict[str, Any]] = None) -> List[Document]:
        """BM25 keyword search over the documents' text (no embedding call)."""
        if self._coll is None:
            return []
        return [self._doc(h.id, h.text, h.metadata) for h in self._coll.keyword_search(query, k, filter=filter)]

    def hybrid_search(self, query: str, k: int = 4, filter: Optional[Dict[str, Any]] = None) -> List[Document]:
        """Vector and keyword search fused by reciprocal rank (ToonDB's hybrid search)."""
        if self._coll is None:
            return []
        v = self._vector(self._embedding.embed_query(query))
        return [self._doc(h.id, h.text, h.metadata) for h in self._coll.hybrid_search(query, v, k, filter=filter)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self._metric == "cosine":
            return self._cosine_relevance_score_fn
        if self._metric == "l2":
            return self._euclidean_relevance_score_fn
        return self._max_inner_product_relevance_score_fn

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: List[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Document]:
        """Maximal marginal relevance over the ``fetch_k`` nearest documents."""
        if self._coll is None or k <= 0:
            return []
        hits = self._coll.search(self._vector(embedding), max(fetch_k, k), filter=filter)
        if not hits:
            return []
        vectors = []
        for h in hits:
            d = self._coll.get(h.id)
            vectors.append(d["vector"] if d is not None else [0.0] * self._coll.dim)
        picked = maximal_marginal_relevance(
            np.asarray(embedding, dtype=np.float32), vectors, lambda_mult=lambda_mult, k=k
        )
        return [self._doc(hits[i].id, hits[i].text, hits[i].metadata) for i in picked]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> List[Document]:
        """Maximal marginal relevance search for a text query."""
        if self._coll is None:
            return []
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter, **kwargs
        )

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_texts(
        cls,
        texts: List[str],
        embedding: Embeddings,
        metadatas: Optional[List[Dict[str, Any]]] = None,
        *,
        ids: Optional[List[str]] = None,
        **kwargs: Any,
    ) -> "ToonDBVectorStore":
        """A store (options as for the constructor) holding ``texts``."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

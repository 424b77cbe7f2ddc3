"""LangChain's official vector-store integration suite (``langchain-tests``), sync and
async, against a real ToonDB database (in memory and on disk)."""

from typing import Generator

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from langchain_toondb import ToonDBVectorStore


class TestToonDBInMemory(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        store = ToonDBVectorStore(self.get_embeddings())
        try:
            yield store
        finally:
            store.close()


class TestToonDBOnDisk(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, tmp_path) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        store = ToonDBVectorStore(self.get_embeddings(), path=tmp_path / "db", metric="l2")
        try:
            yield store
        finally:
            store.close()

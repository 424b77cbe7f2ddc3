"""LangChain integration for ToonDB, the embedded AI-native database."""

from langchain_toondb.vectorstores import ToonDBVectorStore

__all__ = ["ToonDBVectorStore"]
__version__ = "0.1.0"

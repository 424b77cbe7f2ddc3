"""ToonDB: an embedded AI-native database.

Key-value, SQL, vector/keyword/hybrid collections and token-budgeted TOON context
queries in one embedded engine. Every engine call releases the GIL.

    import toondb
    with toondb.Database.open("./data") as db:
        db.put(b"k", b"v")
        with db.transaction() as tx:
            tx.put(b"a", b"1")

A PEP 249 (DB-API 2.0) surface sits next to it: ``toondb.connect(path)`` returns a
``Connection`` with cursors, implicit transactions and the standard exception hierarchy
(see ``toondb.dbapi``).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional, TypeVar

from ._native import (  # noqa: F401
    AlreadyExistsError,
    BusyError,
    ClosedError,
    Collection,
    ConflictError,
    ConstraintError,
    ContextBuilder,
    ContextResult,
    CorruptionError,
    Database,
    DatabaseError,
    DataError,
    Error,
    Graph,
    IntegrityError,
    InterfaceError,
    InternalError,
    InterruptedError,
    InvalidArgumentError,
    IoError,
    KvIterator,
    RowIterator,
    NotFoundError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    ResourceExhaustedError,
    SearchHit,
    Transaction,
    UnsupportedError,
    Warning,
    __version__,
    embed,
)
from . import dbapi as _dbapi
from .dbapi import (  # noqa: F401
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Connection,
    Cursor,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)

T = TypeVar("T")


def open(path: Any) -> Database:  # noqa: A001 - mirrors sqlite3.connect / builtins-style API
    """Opens (creating if needed) a database directory; ``":memory:"`` for an in-memory one."""
    return Database.open(path)


def run_transaction(
    db: Database,
    fn: Callable[[Transaction], T],
    *,
    attempts: int = 10,
    backoff: float = 0.001,
) -> T:
    """Runs ``fn(tx)`` in a transaction and commits, retrying from scratch on ConflictError
    (exponential back-off with jitter) up to ``attempts`` times. ``fn`` may run more than
    once, so keep its side effects inside the transaction."""
    delay = backoff
    for attempt in range(1, attempts + 1):
        tx = db.begin()
        try:
            result = fn(tx)
            tx.commit()
            return result
        except ConflictError:
            tx.rollback()
            if attempt == attempts:
                raise
            time.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, backoff * 64)
        except BaseException:
            tx.rollback()
            raise
    raise AssertionError("unreachable")


# `Warning` and `InterruptedError` are importable as toondb.Warning / toondb.InterruptedError
# but left out of __all__ so `from toondb import *` does not shadow the builtins.
__all__ = [
    *_dbapi.__all__,
    "DataError",
    "DatabaseError",
    "IntegrityError",
    "InterfaceError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "ResourceExhaustedError",
    "AlreadyExistsError",
    "BusyError",
    "ClosedError",
    "Collection",
    "ConflictError",
    "ConstraintError",
    "ContextBuilder",
    "ContextResult",
    "CorruptionError",
    "Database",
    "Error",
    "Graph",
    "InternalError",
    "InvalidArgumentError",
    "IoError",
    "KvIterator",
    "RowIterator",
    "NotFoundError",
    "SearchHit",
    "Transaction",
    "UnsupportedError",
    "embed",
    "open",
    "run_transaction",
    "__version__",
]

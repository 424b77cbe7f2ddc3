"""PEP 249 (DB-API 2.0) interface to ToonDB, modelled on the standard ``sqlite3`` module.

    import toondb
    con = toondb.connect("app.db")          # or ":memory:"
    cur = con.cursor()
    cur.execute("CREATE TABLE movie(title, year, score)")
    cur.executemany("INSERT INTO movie VALUES (?, ?, ?)", [("Brian", 1979, 8.0)])
    con.commit()
    print(cur.execute("SELECT title FROM movie").fetchall())
    con.close()

Transactions are implicit, as in ``sqlite3``: the first INSERT/UPDATE/DELETE/REPLACE opens
one; until ``commit()`` or ``rollback()``, every statement on the connection (queries
included) runs inside it and sees its writes. DDL outside a transaction runs directly.
``connect(path, isolation_level=None)`` switches to autocommit (each statement on its own).

``Cursor.lastrowid`` is the rowid of the last row an ``INSERT``/``REPLACE`` inserted (as in
:mod:`sqlite3`), ``None`` after other statements.
A query outside a transaction streams: the cursor pulls rows from the engine as they are
fetched (``Database.query_iter``), so memory does not grow with the result; inside the
connection's transaction a query's rows are fetched in one piece.
"""

from __future__ import annotations

import datetime as _dt
import os
import time as _time
from typing import Any, Iterable, List, Optional, Tuple, Union

from ._native import (
    Database,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Transaction,
    Warning,
)

apilevel = "2.0"
"""PEP 249 level."""
threadsafety = 1
"""Threads may share the module, not connections (a connection's implicit transaction is
not synchronised)."""
paramstyle = "qmark"
"""Parameters are ``?`` placeholders bound from a sequence."""

# Statements that open an implicit transaction (as sqlite3 does).
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "MERGE"})
# Statements that return rows.
_QUERY = frozenset(
    {"SELECT", "WITH", "VALUES", "EXPLAIN", "SHOW", "PRAGMA", "DESCRIBE", "CONTEXT", "TABLE"}
)


def _first_keyword(sql: str) -> str:
    """The statement's first keyword in upper case, skipping blanks, comments and '('."""
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace() or c == "(":
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    j = i
    while j < n and (sql[j].isalnum() or sql[j] == "_"):
        j += 1
    return sql[i:j].upper()


def _bad_params(e: TypeError) -> ProgrammingError:
    return ProgrammingError(f"Error binding parameters: {e}")


class Connection:
    """A DB-API connection: one database handle plus the implicit transaction, if any."""

    def __init__(self, db: Database, *, isolation_level: Optional[str] = "DEFERRED", owns: bool = True) -> None:
        self._db: Optional[Database] = db
        self._owns = owns
        self._tx: Optional[Transaction] = None
        self.isolation_level = isolation_level
        # PEP 249 optional extension: exceptions reachable from the connection.
        self.Warning = Warning
        self.Error = Error
        self.InterfaceError = InterfaceError
        self.DatabaseError = DatabaseError
        self.DataError = DataError
        self.OperationalError = OperationalError
        self.IntegrityError = IntegrityError
        self.InternalError = InternalError
        self.ProgrammingError = ProgrammingError
        self.NotSupportedError = NotSupportedError

    # ------------------------------------------------------------------ state
    @property
    def database(self) -> Database:
        """The underlying :class:`toondb.Database` (for collections, KV, context queries)."""
        return self._live()

    @property
    def in_transaction(self) -> bool:
        """True while an implicit transaction is open (uncommitted changes pending)."""
        return self._tx is not None

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._db is None

    def _live(self) -> Database:
        if self._db is None:
            raise ProgrammingError("Cannot operate on a closed database.")
        return self._db

    def _target(self, keyword: str) -> Union[Database, Transaction]:
        """Where a statement runs: the open transaction, or a new one for DML."""
        db = self._live()
        if self._tx is None and keyword in _DML and self.isolation_level is not None:
            self._tx = db.begin()
        return self._tx if self._tx is not None else db

    # ------------------------------------------------------------------ PEP 249
    def cursor(self) -> "Cursor":
        """A new cursor on this connection."""
        self._live()
        return Cursor(self)

    def commit(self) -> None:
        """Commits the implicit transaction (no-op without one). A ``ConflictError``
        (an ``OperationalError``) means a concurrent writer won; nothing was written and the
        transaction is over."""
        self._live()
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.commit()

    def rollback(self) -> None:
        """Discards the implicit transaction (no-op without one)."""
        self._live()
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.rollback()

    def close(self) -> None:
        """Rolls back uncommitted changes and closes the database (if this connection
        opened it). Closing twice is a no-op."""
        if self._db is None:
            return
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.rollback()
        db, self._db = self._db, None
        if self._owns:
            db.close()

    # ------------------------------------------------------------------ sqlite3 extras
    def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        """Shortcut: a new cursor's :meth:`Cursor.execute`."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> "Cursor":
        """Shortcut: a new cursor's :meth:`Cursor.executemany`."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, exc_type: Any, exc: Any = None, tb: Any = None) -> bool:
        """Commits on success, rolls back on an exception; does not close (like sqlite3)."""
        if self._db is not None:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        return False

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


Row = Tuple[Any, ...]
Description = Tuple[str, None, None, None, None, None, None]


class Cursor:
    """A DB-API cursor: runs statements on its connection and hands out their rows."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.description: Optional[Tuple[Description, ...]] = None
        self.rowcount = -1
        self.lastrowid: Optional[int] = None
        self._rows: List[Row] = []
        self._pos = 0
        self._iter: Optional[Any] = None
        self._closed = False

    def _check(self) -> Connection:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._live()
        return self.connection

    def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        """Runs one statement with ``?`` parameters from a sequence. Queries set
        :attr:`description` and leave :attr:`rowcount` at -1; other statements set
        :attr:`rowcount` to the number of rows changed (0 for DDL)."""
        con = self._check()
        if not isinstance(sql, str):
            raise ProgrammingError("the statement must be a str")
        if isinstance(parameters, (str, bytes, dict)):
            raise ProgrammingError("parameters must be a sequence (paramstyle 'qmark')")
        kw = _first_keyword(sql)
        target = con._target(kw)
        self._drop_iter()
        self._rows, self._pos = [], 0
        self.lastrowid = None
        params = list(parameters) if parameters is not None else []
        try:
            if kw in _QUERY:
                if isinstance(target, Database):
                    # Outside a transaction: rows stream from the engine as they are fetched.
                    self._iter = target.query_iter(sql, params)
                    cols = self._iter.columns
                else:
                    cols, self._rows = target.query_with_columns(sql, params)
                self.description = tuple((c, None, None, None, None, None, None) for c in cols)
                self.rowcount = -1
            else:
                self.description = None
                self.rowcount, self.lastrowid = target.execute_rowid(sql, params)
        except TypeError as e:
            raise _bad_params(e) from e
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> "Cursor":
        """Runs a data-changing statement once per parameter sequence; :attr:`rowcount` is
        the total number of rows changed."""
        self._check()
        if _first_keyword(sql) in _QUERY:
            raise ProgrammingError("executemany() can only execute DML statements.")
        total = 0
        for params in seq_of_parameters:
            self.execute(sql, params)
            total += max(self.rowcount, 0)
        self.rowcount = total
        self.description = None
        self.lastrowid = None  # as sqlite3: executemany() does not set it
        return self

    def _drop_iter(self) -> None:
        if self._iter is not None:
            self._iter.close()
            self._iter = None

    def fetchone(self) -> Optional[Row]:
        """The next row, or None when exhausted."""
        self._check()
        if self._iter is not None:
            row = next(self._iter, None)
            if row is None:
                self._iter = None
            return row
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> List[Row]:
        """Up to ``size`` (default :attr:`arraysize`) next rows."""
        self._check()
        n = self.arraysize if size is None else size
        if self._iter is not None:
            out = []
            while len(out) < n:
                row = self.fetchone()
                if row is None:
                    break
                out.append(row)
            return out
        out = self._rows[self._pos : self._pos + max(n, 0)]
        self._pos += len(out)
        return out

    def fetchall(self) -> List[Row]:
        """All remaining rows."""
        self._check()
        if self._iter is not None:
            out = list(self._iter)
            self._iter = None
            return out
        out = self._rows[self._pos :]
        self._pos = len(self._rows)
        return out

    def close(self) -> None:
        """Closes the cursor (stopping a query still streaming); further use raises
        ProgrammingError."""
        self._drop_iter()
        self._closed = True
        self._rows = []

    def setinputsizes(self, sizes: Any) -> None:
        """PEP 249 no-op."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """PEP 249 no-op."""

    def __iter__(self) -> "Cursor":
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *args: Any) -> bool:
        self.close()
        return False


def connect(
    database: Union[str, "os.PathLike[str]"], *, isolation_level: Optional[str] = "DEFERRED"
) -> Connection:
    """Opens (creating if needed) a database directory, or ``":memory:"``, as a DB-API
    connection. ``isolation_level=None`` means autocommit."""
    if isinstance(database, str) and database == ":memory:":
        db = Database.open_in_memory()
    else:
        db = Database.open(database)
    return Connection(db, isolation_level=isolation_level)


# ---------------------------------------------------------------------- PEP 249 types
Binary = bytes
Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:
    """PEP 249 constructor."""
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    """PEP 249 constructor."""
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    """PEP 249 constructor."""
    return Timestamp(*_time.localtime(ticks)[:6])


class _DBAPITypeObject:
    def __init__(self, *values: str) -> None:
        self.values = frozenset(values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.upper() in self.values

    def __hash__(self) -> int:
        return hash(self.values)


STRING = _DBAPITypeObject("TEXT", "VARCHAR", "CHAR", "STRING")
BINARY = _DBAPITypeObject("BLOB", "BYTES", "BINARY")
NUMBER = _DBAPITypeObject("INTEGER", "INT", "REAL", "FLOAT", "DOUBLE", "NUMERIC")
DATETIME = _DBAPITypeObject("TIMESTAMP", "DATETIME", "DATE", "TIME")
ROWID = _DBAPITypeObject("ROWID")

__all__ = [
    "BINARY",
    "Binary",
    "Connection",
    "Cursor",
    "DATETIME",
    "Date",
    "DateFromTicks",
    "NUMBER",
    "ROWID",
    "STRING",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]

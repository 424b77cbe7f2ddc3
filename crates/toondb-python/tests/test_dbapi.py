"""PEP 249 (DB-API 2.0) surface: toondb.connect, cursors, implicit transactions, errors."""

import pytest

import toondb


@pytest.fixture
def con():
    c = toondb.connect(":memory:")
    yield c
    c.close()


def test_module_globals():
    assert toondb.apilevel == "2.0"
    assert toondb.paramstyle == "qmark"
    assert toondb.threadsafety in (0, 1, 2, 3)
    for name in [
        "Warning",
        "Error",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ]:
        assert isinstance(getattr(toondb, name), type), name


def test_exception_hierarchy():
    assert issubclass(toondb.Warning, Exception)
    assert issubclass(toondb.Error, Exception)
    for cls in [toondb.InterfaceError, toondb.DatabaseError]:
        assert issubclass(cls, toondb.Error)
    for cls in [
        toondb.DataError,
        toondb.OperationalError,
        toondb.IntegrityError,
        toondb.InternalError,
        toondb.ProgrammingError,
        toondb.NotSupportedError,
    ]:
        assert issubclass(cls, toondb.DatabaseError)
    # ToonDB's own classes slot into the DB-API tree
    assert issubclass(toondb.ConstraintError, toondb.IntegrityError)
    assert issubclass(toondb.ConflictError, toondb.OperationalError)
    assert issubclass(toondb.InterruptedError, toondb.OperationalError)
    assert issubclass(toondb.ResourceExhaustedError, toondb.OperationalError)
    assert issubclass(toondb.NotFoundError, toondb.ProgrammingError)
    assert issubclass(toondb.InvalidArgumentError, toondb.ProgrammingError)
    assert issubclass(toondb.UnsupportedError, toondb.NotSupportedError)
    assert issubclass(toondb.ClosedError, toondb.OperationalError)
    assert toondb.InterruptedError is not InterruptedError  # not the builtin


def test_cursor_basics(con):
    cur = con.cursor()
    assert cur.description is None and cur.rowcount == -1 and cur.arraysize == 1
    assert cur.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n INTEGER)") is cur
    cur.executemany("INSERT INTO t(name, n) VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 3)])
    assert cur.rowcount == 3
    assert cur.lastrowid is None  # as sqlite3: executemany() does not set it
    cur.execute("INSERT INTO t(name, n) VALUES ('x', 9)")
    assert cur.lastrowid == 4 and cur.rowcount == 1
    cur.execute("DELETE FROM t WHERE id = 4")
    assert cur.lastrowid is None and cur.rowcount == 1
    # The largest rowid is reused after it is deleted (SQLite without AUTOINCREMENT).
    cur.execute("INSERT INTO t(name, n) VALUES (?, ?)", ("y", 8))
    assert cur.lastrowid == 4
    cur.execute("DELETE FROM t WHERE id = 4")
    cur.execute("SELECT name, n FROM t ORDER BY n")
    assert [d[0] for d in cur.description] == ["name", "n"]
    assert all(len(d) == 7 for d in cur.description)
    assert cur.rowcount == -1
    assert cur.fetchone() == ("a", 1)
    assert cur.fetchmany() == [("b", 2)]
    assert cur.fetchmany(5) == [("c", 3)]
    assert cur.fetchone() is None
    assert cur.fetchall() == []
    cur.arraysize = 2
    assert cur.execute("SELECT n FROM t ORDER BY n").fetchmany() == [(1,), (2,)]
    assert list(cur.execute("SELECT n FROM t WHERE n > ? ORDER BY n", (1,))) == [(2,), (3,)]
    cur.execute("UPDATE t SET n = n + 10 WHERE n >= ?", [2])
    assert cur.rowcount == 2 and cur.description is None
    cur.close()
    with pytest.raises(toondb.ProgrammingError):
        cur.execute("SELECT 1")


def test_implicit_transaction_commit_and_rollback(tmp_path):
    path = tmp_path / "db"
    con = toondb.connect(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE t(x INTEGER)")
    assert not con.in_transaction
    cur.execute("INSERT INTO t VALUES (1)")
    assert con.in_transaction
    # the connection's own reads see its pending writes
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (1,)
    # another handle to the same data does not (snapshot isolation, not yet committed)
    assert con.database.query("SELECT count(*) FROM t") == [(0,)]
    con.rollback()
    assert not con.in_transaction
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (0,)
    cur.execute("INSERT INTO t VALUES (2)")
    con.commit()
    assert con.database.query("SELECT x FROM t") == [(2,)]
    # uncommitted changes are rolled back on close
    cur.execute("INSERT INTO t VALUES (3)")
    con.close()
    con.close()  # twice is fine
    with pytest.raises(toondb.ProgrammingError):
        con.cursor()
    con2 = toondb.connect(path)
    assert con2.execute("SELECT x FROM t").fetchall() == [(2,)]
    con2.close()


def test_context_manager_commits_or_rolls_back(con):
    con.execute("CREATE TABLE t(x INTEGER)")
    with con:
        con.execute("INSERT INTO t VALUES (1)")
    assert not con.in_transaction
    with pytest.raises(ZeroDivisionError):
        with con:
            con.execute("INSERT INTO t VALUES (2)")
            1 / 0
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not con.closed


def test_autocommit_mode(tmp_path):
    con = toondb.connect(tmp_path / "db", isolation_level=None)
    con.execute("CREATE TABLE t(x INTEGER)")
    con.execute("INSERT INTO t VALUES (1)")
    assert not con.in_transaction
    assert con.database.query("SELECT x FROM t") == [(1,)]
    con.close()


def test_errors_map_to_dbapi_classes(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    cur.execute("INSERT INTO u(name) VALUES ('a')")
    con.commit()
    with pytest.raises(toondb.IntegrityError) as ei:
        cur.execute("INSERT INTO u(name) VALUES ('a')")
    assert isinstance(ei.value, toondb.ConstraintError)
    con.rollback()
    with pytest.raises(toondb.ProgrammingError):
        cur.execute("SELEC nonsense")
    with pytest.raises(toondb.ProgrammingError):
        cur.execute("SELECT * FROM missing_table")
    with pytest.raises(toondb.ProgrammingError):
        cur.execute("INSERT INTO u(name) VALUES (?)", [object()])
    with pytest.raises(toondb.ProgrammingError):
        cur.execute("INSERT INTO u(name) VALUES (?)", {"name": "x"})
    with pytest.raises(toondb.ProgrammingError):
        cur.executemany("SELECT ?", [(1,)])


def test_conflict_is_operational_error(tmp_path):
    path = tmp_path / "db"
    a = toondb.connect(path)
    a.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
    a.execute("INSERT INTO t(id, v) VALUES (1, 0)")
    a.commit()
    b = toondb.Connection(a.database, owns=False)
    a.execute("UPDATE t SET v = 1 WHERE id = 1")
    b.execute("UPDATE t SET v = 2 WHERE id = 1")
    a.commit()
    with pytest.raises(toondb.OperationalError) as ei:
        b.commit()
    assert isinstance(ei.value, toondb.ConflictError)
    assert not b.in_transaction
    assert a.execute("SELECT v FROM t").fetchall() == [(1,)]
    b.close()
    a.close()


def test_closed_database_is_closed_error(tmp_path):
    db = toondb.Database.open(tmp_path / "db")
    db.close()
    with pytest.raises(toondb.ClosedError) as ei:
        db.execute("SELECT 1")
    assert isinstance(ei.value, toondb.OperationalError)


def test_sqlite3_tutorial_session_ported_verbatim(tmp_path, capsys, monkeypatch):
    """The session from the Python docs' sqlite3 tutorial with `sqlite3` replaced by
    `toondb`, including its two `sqlite_master` lookups."""
    monkeypatch.chdir(tmp_path)
    con = toondb.connect("tutorial.db")
    cur = con.cursor()
    cur.execute("CREATE TABLE movie(title, year, score)")
    res = cur.execute("SELECT name FROM sqlite_master")
    assert res.fetchone() == ("movie",)
    res = cur.execute("SELECT name FROM sqlite_master WHERE name='spam'")
    assert res.fetchone() is None
    cur.execute("""
        INSERT INTO movie VALUES
            ('Monty Python and the Holy Grail', 1975, 8.2),
            ('And Now for Something Completely Different', 1971, 7.5)
    """)
    con.commit()
    res = cur.execute("SELECT score FROM movie")
    assert res.fetchall() == [(8.2,), (7.5,)]
    data = [
        ("Monty Python Live at the Hollywood Bowl", 1982, 7.9),
        ("Monty Python's The Meaning of Life", 1983, 7.5),
        ("Monty Python's Life of Brian", 1979, 8.0),
    ]
    cur.executemany("INSERT INTO movie VALUES(?, ?, ?)", data)
    con.commit()  # Remember to commit the transaction after executing INSERT.
    for row in cur.execute("SELECT year, title FROM movie ORDER BY year"):
        print(row)
    con.close()
    new_con = toondb.connect("tutorial.db")
    new_cur = new_con.cursor()
    res = new_cur.execute("SELECT title, year FROM movie ORDER BY score DESC")
    title, year = res.fetchone()
    print(f'The highest scoring Monty Python movie is {title!r}, released in {year}')
    new_con.close()
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "(1971, 'And Now for Something Completely Different')",
        "(1975, 'Monty Python and the Holy Grail')",
        "(1979, \"Monty Python's Life of Brian\")",
        "(1982, 'Monty Python Live at the Hollywood Bowl')",
        "(1983, \"Monty Python's The Meaning of Life\")",
        "The highest scoring Monty Python movie is 'Monty Python and the Holy Grail', released in 1975",
    ]

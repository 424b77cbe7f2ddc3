import pytest

import toondb


def test_types_round_trip(db):
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)")
    n = db.execute(
        "INSERT INTO t(i, r, s, b) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
        (1, 2.5, "héllo", b"\x00\xff", None, None, None, None),
    )
    assert n == 2
    rows = db.query("SELECT i, r, s, b FROM t ORDER BY id")
    assert rows == [(1, 2.5, "héllo", b"\x00\xff"), (None, None, None, None)]
    assert isinstance(rows[0], tuple)
    d = db.query("SELECT id, s FROM t WHERE i = ?", [1], as_dict=True)
    assert d == [{"id": 1, "s": "héllo"}]
    assert db.columns("SELECT i AS x, s FROM t") == ["x", "s"]
    # bool binds as an integer
    assert db.query("SELECT count(*) FROM t WHERE i = ?", (True,)) == [(1,)]
    assert db.execute("UPDATE t SET i = i + 1 WHERE i IS NOT NULL") == 1
    assert db.execute("DELETE FROM t") == 2


def test_error_classes(db):
    db.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    db.execute("INSERT INTO u(name) VALUES ('a')")
    with pytest.raises(toondb.InvalidArgumentError):
        db.query("SELEC nonsense")
    with pytest.raises(toondb.NotFoundError):
        db.query("SELECT * FROM missing_table")
    with pytest.raises(toondb.ConstraintError):
        db.execute("INSERT INTO u(name) VALUES ('a')")
    with pytest.raises(toondb.AlreadyExistsError):
        db.execute("CREATE TABLE u(x INTEGER)")
    with pytest.raises(toondb.Error):
        db.execute("BEGIN")


def test_bad_params(db):
    db.execute("CREATE TABLE t(x)")
    with pytest.raises(TypeError):
        db.execute("INSERT INTO t VALUES (?)", [object()])
    with pytest.raises(TypeError):
        db.execute("INSERT INTO t VALUES (?)", {"x": 1})
    with pytest.raises(TypeError):
        db.execute("INSERT INTO t VALUES (?)", "abc")
    with pytest.raises(ValueError):
        db.execute("INSERT INTO t VALUES (?)", [2**70])
    with pytest.raises(toondb.InvalidArgumentError):
        db.execute("INSERT INTO t VALUES (?, ?)", [1])
    # generators are accepted as parameter sequences
    db.execute("INSERT INTO t VALUES (?)", (x for x in [5]))
    assert db.query("SELECT x FROM t") == [(5,)]


def test_query_iter_streams_rows_lazily(db):
    db.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT)")
    for start in range(0, 20000, 1000):
        values = ",".join(f"({i}, 'v{i}')" for i in range(start + 1, start + 1001))
        db.execute(f"INSERT INTO big VALUES {values}")
    it = db.query_iter("SELECT id, v FROM big ORDER BY id")
    assert isinstance(it, toondb.RowIterator)
    assert it.columns == ["id", "v"]
    assert next(it) == (1, "v1")
    assert next(it) == (2, "v2")
    it.close()  # stops the statement
    assert list(it) == []
    total = sum(1 for _ in db.query_iter("SELECT id FROM big WHERE id % 3 = 0"))
    assert total == 20000 // 3
    rows = list(db.query_iter("SELECT id AS n FROM big WHERE id < 3", as_dict=True))
    assert rows == [{"n": 1}, {"n": 2}]
    empty = db.query_iter("SELECT id, v AS value FROM big WHERE id < 0")
    assert empty.columns == ["id", "value"] and list(empty) == []
    with pytest.raises(toondb.NotFoundError):
        db.query_iter("SELECT * FROM nowhere")
    # A runtime error after some rows surfaces from the iterator.
    it = db.query_iter(
        "SELECT CASE WHEN id < 3 THEN id ELSE abs(-9223372036854775807 - 1) END FROM big ORDER BY id"
    )
    assert next(it) == (1,) and next(it) == (2,)
    with pytest.raises(toondb.Error):
        next(it)


def test_dbapi_cursor_streams_outside_a_transaction(db):
    con = toondb.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE s(id INTEGER PRIMARY KEY)")
    cur.executemany("INSERT INTO s VALUES (?)", [(i,) for i in range(1, 501)])
    con.commit()
    cur.execute("SELECT id FROM s ORDER BY id")
    assert [d[0] for d in cur.description] == ["id"]
    assert cur.fetchone() == (1,)
    assert cur.fetchmany(3) == [(2,), (3,), (4,)]
    assert len(cur.fetchall()) == 496
    assert cur.fetchone() is None
    cur.execute("SELECT id FROM s WHERE id > 498")
    assert list(cur) == [(499,), (500,)]
    cur.execute("SELECT id FROM s")
    cur.close()  # stops the streaming query
    con.close()

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

import threading

import pytest
from hypothesis import given, settings, strategies as st

import toondb


def test_commit_on_success(db):
    with db.transaction() as tx:
        tx.put(b"a", b"1")
        assert tx.get(b"a") == b"1"
        assert db.get(b"a") is None  # not visible before commit
    assert not tx.active
    assert db.get(b"a") == b"1"


def test_rollback_on_exception(db):
    db.put(b"a", b"0")
    with pytest.raises(ValueError):
        with db.transaction() as tx:
            tx.put(b"a", b"1")
            tx.put(b"b", b"1")
            raise ValueError("abort")
    assert db.get(b"a") == b"0"
    assert db.get(b"b") is None


def test_explicit_commit_and_rollback(db):
    tx = db.begin()
    tx.put(b"x", b"1")
    tx.rollback()
    assert db.get(b"x") is None
    with pytest.raises(toondb.InvalidArgumentError):
        tx.put(b"x", b"2")
    tx = db.begin()
    tx.put(b"x", b"3")
    tx.commit()
    assert db.get(b"x") == b"3"
    with pytest.raises(toondb.InvalidArgumentError):
        tx.commit()


def test_write_write_conflict(db):
    db.put(b"k", b"0")
    t1 = db.begin()
    t2 = db.begin()
    t1.put(b"k", b"1")
    t2.put(b"k", b"2")
    t1.commit()
    with pytest.raises(toondb.ConflictError):
        t2.commit()
    assert db.get(b"k") == b"1"


def test_conflict_inside_context_manager_raises(db):
    db.put(b"k", b"0")
    with pytest.raises(toondb.ConflictError):
        with db.transaction() as tx:
            tx.put(b"k", b"tx")
            other = db.begin()
            other.put(b"k", b"other")
            other.commit()
    assert db.get(b"k") == b"other"


def test_sql_and_kv_commit_together(db):
    db.execute("CREATE TABLE audit(msg TEXT)")
    with db.transaction() as tx:
        tx.put(b"balance", b"10")
        tx.execute("INSERT INTO audit VALUES (?)", ["set"])
        assert tx.query("SELECT count(*) FROM audit") == [(1,)]
        assert db.query("SELECT count(*) FROM audit") == [(0,)]
    assert db.query("SELECT msg FROM audit", as_dict=True) == [{"msg": "set"}]
    with pytest.raises(KeyError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO audit VALUES ('lost')")
            raise KeyError("x")
    assert db.query("SELECT count(*) FROM audit") == [(1,)]


def test_transaction_scan_sees_own_writes(db):
    db.put(b"p/1", b"a")
    with db.transaction() as tx:
        tx.put(b"p/2", b"b")
        tx.delete(b"p/1")
        assert tx.scan_prefix(b"p/") == [(b"p/2", b"b")]


def test_run_transaction_retries_conflicts_from_threads(db):
    db.put(b"counter", b"0")

    def incr(tx):
        n = int(tx.get(b"counter"))
        tx.put(b"counter", str(n + 1).encode())

    def worker():
        for _ in range(25):
            toondb.run_transaction(db, incr, attempts=200)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.get(b"counter") == b"100"


keys = st.sampled_from([b"a", b"b", b"c", b"d"])
tx_ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), keys, st.binary(max_size=4)),
        st.tuples(st.just("delete"), keys, st.just(b"")),
    ),
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(before=tx_ops, inside=tx_ops, commit=st.booleans())
def test_transaction_matches_model(before, inside, commit):
    def apply(target, model, ops):
        for op, k, v in ops:
            if op == "put":
                target.put(k, v)
                model[k] = v
            else:
                target.delete(k)
                model.pop(k, None)

    with toondb.Database.open_in_memory() as db:
        committed = {}
        apply(db, committed, before)
        tx = db.begin()
        pending = dict(committed)
        apply(tx, pending, inside)
        for k in (b"a", b"b", b"c", b"d"):
            assert tx.get(k) == pending.get(k)
            assert db.get(k) == committed.get(k)
        if commit:
            tx.commit()
            expect = pending
        else:
            tx.rollback()
            expect = committed
        assert list(db.scan_prefix(b"")) == sorted(expect.items())

import threading

import pytest
from hypothesis import given, settings, strategies as st

import toondb


def test_put_get_delete(db):
    assert db.get(b"missing") is None
    db.put(b"k", b"v")
    assert db.get(b"k") == b"v"
    db.put("text-key", "text-value")
    assert db.get(b"text-key") == b"text-value"
    assert db.get("text-key") == b"text-value"
    db.put(bytearray(b"ba"), memoryview(b"mv"))
    assert db.get(b"ba") == b"mv"
    db.delete(b"k")
    assert db.get(b"k") is None
    db.delete(b"never-existed")


def test_scan_prefix_is_an_ordered_iterator_across_batches(db):
    # More than one internal batch (256) so the refill path runs.
    for i in range(600):
        db.put(b"p/%04d" % i, b"%d" % i)
    db.put(b"q/0", b"other")
    it = db.scan_prefix(b"p/")
    assert iter(it) is it
    pairs = list(it)
    assert len(pairs) == 600
    assert [k for k, _ in pairs] == sorted(k for k, _ in pairs)
    assert pairs[0] == (b"p/0000", b"0") and pairs[-1] == (b"p/0599", b"599")
    assert list(db.scan_prefix(b"nothing")) == []


def test_reopen_persists(tmp_path):
    path = tmp_path / "data"
    with toondb.Database.open(str(path)) as db:
        db.put(b"durable", b"yes")
        db.execute("CREATE TABLE t(x INTEGER)")
        db.execute("INSERT INTO t VALUES (?)", (7,))
    assert db.closed
    with toondb.open(path) as db2:
        assert db2.get(b"durable") == b"yes"
        assert db2.query("SELECT x FROM t") == [(7,)]
        assert db2.path == str(path)


def test_open_read_only_beside_a_writer(tmp_path):
    path = tmp_path / "ro"
    with toondb.Database.open(str(path)) as db:
        db.put(b"k", b"v")
        ro = toondb.Database.open_read_only(str(path))
        assert ro.get(b"k") == b"v"
        with pytest.raises(toondb.UnsupportedError):
            ro.put(b"x", b"y")
        ro.close()


def test_second_handle_on_same_dir_is_busy(disk_db, tmp_path):
    with pytest.raises(toondb.BusyError):
        toondb.Database.open(tmp_path / "db")


def test_wrong_types_raise_type_error(db):
    for bad in (1, 1.5, None, [b"a"], object()):
        with pytest.raises(TypeError):
            db.put(bad, b"v")
        with pytest.raises(TypeError):
            db.put(b"k", bad)
        with pytest.raises(TypeError):
            db.get(bad)
    with pytest.raises(TypeError):
        toondb.Database.open(42)


def test_closed_database_raises_closed_error():
    db = toondb.Database.open_in_memory()
    db.put(b"a", b"1")
    it = db.scan_prefix(b"")
    tx = db.begin()
    db.close()
    db.close()  # idempotent
    assert db.closed
    for call in (
        lambda: db.get(b"a"),
        lambda: db.put(b"a", b"2"),
        lambda: db.delete(b"a"),
        lambda: db.scan_prefix(b""),
        lambda: db.execute("SELECT 1"),
        lambda: db.begin(),
        lambda: list(it),
        lambda: tx.put(b"x", b"y"),
        lambda: tx.commit(),
    ):
        with pytest.raises(toondb.ClosedError):
            call()
    assert issubclass(toondb.ClosedError, toondb.Error)


def test_context_manager_closes_even_on_exception():
    with pytest.raises(RuntimeError):
        with toondb.Database.open(":memory:") as db:
            raise RuntimeError("boom")
    assert db.closed


def test_threads_share_one_database(db):
    errors = []

    def worker(t):
        try:
            for i in range(200):
                key = b"t%d/%d" % (t, i)
                db.put(key, key)
                assert db.get(key) == key
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for t in range(8):
        assert len(list(db.scan_prefix(b"t%d/" % t))) == 200


keys = st.binary(min_size=1, max_size=8)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), keys, st.binary(max_size=16)),
        st.tuples(st.just("delete"), keys, st.just(b"")),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops, prefix=st.binary(max_size=2))
def test_kv_matches_dict_model(ops, prefix):
    model = {}
    with toondb.Database.open_in_memory() as db:
        for op, k, v in ops:
            if op == "put":
                db.put(k, v)
                model[k] = v
            else:
                db.delete(k)
                model.pop(k, None)
        for k in {k for _, k, _ in ops}:
            assert db.get(k) == model.get(k)
        expect = sorted((k, v) for k, v in model.items() if k.startswith(prefix))
        assert list(db.scan_prefix(prefix)) == expect

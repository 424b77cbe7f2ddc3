"""SDK benchmark (not run by tests): toondb through Python vs sqlite3 (stdlib) for
key-value put/get, DB-API inserts (executemany in one transaction) and point queries
(cursor.execute + fetchone by primary key), and vs hnswlib for vector insert/search.

    python bench/bench.py [N]

Use a release wheel (maturin build --release) for meaningful numbers. hnswlib and numpy are
optional; their part is skipped if missing.
"""

import os
import sqlite3
import sys
import tempfile
import time

import toondb

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
VALUE = b"value-0123456789"
KEYS = [b"key%08d" % i for i in range(N)]


def rate(n, t):
    return n / t if t > 0 else float("inf")


def bench_toondb(db, keys, label):
    t = time.perf_counter()
    for k in keys:
        db.put(k, VALUE)
    put = rate(len(keys), time.perf_counter() - t)
    t = time.perf_counter()
    for k in keys:
        db.get(k)
    get = rate(len(keys), time.perf_counter() - t)
    print(f"{label:<30} put {put:>10.0f}/s   get {get:>10.0f}/s   (n={len(keys)})")


def bench_sqlite(conn, keys, label):
    conn.execute("CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
    conn.commit()
    t = time.perf_counter()
    for k in keys:
        conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (k, VALUE))
        conn.commit()  # autocommit per put, like toondb.put
    put = rate(len(keys), time.perf_counter() - t)
    t = time.perf_counter()
    for k in keys:
        conn.execute("SELECT v FROM kv WHERE k = ?", (k,)).fetchone()
    get = rate(len(keys), time.perf_counter() - t)
    print(f"{label:<30} put {put:>10.0f}/s   get {get:>10.0f}/s   (n={len(keys)})")


def bench_dbapi(module, label, n):
    """The same DB-API code against toondb and sqlite3 (both in memory)."""
    con = module.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
    con.commit()
    rows = [(i, "name%d" % i, i % 90) for i in range(n)]
    t = time.perf_counter()
    cur.executemany("INSERT INTO person VALUES (?, ?, ?)", rows)
    con.commit()
    ins = rate(n, time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, n, 7):
        cur.execute("SELECT name, age FROM person WHERE id = ?", (i,))
        cur.fetchone()
    q = rate(len(range(0, n, 7)), time.perf_counter() - t)
    con.close()
    print(f"{label:<30} insert {ins:>10.0f}/s   point query {q:>10.0f}/s   (n={n})")
    return ins, q


def main():
    print(f"python {sys.version.split()[0]}, toondb {toondb.__version__}")
    n = min(N, 100_000)
    t_ins, t_q = bench_dbapi(toondb, "toondb DB-API (:memory:)", n)
    s_ins, s_q = bench_dbapi(sqlite3, "sqlite3 DB-API (:memory:)", n)
    print(f"{'ratio sqlite3/toondb':<30} insert {s_ins / t_ins:>10.2f}x   point query {s_q / t_q:>10.2f}x")
    with toondb.Database.open_in_memory() as db:
        bench_toondb(db, KEYS, "toondb python (in-memory)")
    bench_sqlite(sqlite3.connect(":memory:"), KEYS, "sqlite3 stdlib (:memory:)")
    # Durable, one fsync'd commit per put on both sides (small n: fsync-bound).
    small = KEYS[:2000]
    with tempfile.TemporaryDirectory() as d:
        with toondb.Database.open(os.path.join(d, "t")) as db:
            bench_toondb(db, small, "toondb python (disk, durable)")
        conn = sqlite3.connect(os.path.join(d, "s.db"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        bench_sqlite(conn, small, "sqlite3 (disk, WAL, sync=FULL)")
        conn.close()
    vectors()


def vectors():
    try:
        import hnswlib
        import numpy as np
    except ImportError as e:  # pragma: no cover
        print("vector part skipped:", e)
        return
    n, dim, q, k = 5000, 64, 500, 10
    rng = np.random.default_rng(1)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    queries = rng.standard_normal((q, dim)).astype(np.float32)
    with toondb.Database.open_in_memory() as db:
        c = db.create_collection("v", dim, "cosine", m=16, ef_construction=100, ef_search=64)
        t = time.perf_counter()
        c.upsert_many({"id": str(i), "vector": v} for i, v in enumerate(data))
        ins = rate(n, time.perf_counter() - t)
        t = time.perf_counter()
        for v in queries:
            c.search(v, k)
        qps = rate(q, time.perf_counter() - t)
    print(f"{'toondb collection':<30} insert {ins:>9.0f}/s   search {qps:>8.0f}/s   (n={n}, dim={dim}, k={k})")
    idx = hnswlib.Index(space="cosine", dim=dim)
    idx.init_index(max_elements=n, M=16, ef_construction=100)
    idx.set_num_threads(1)
    t = time.perf_counter()
    idx.add_items(data, np.arange(n))
    ins = rate(n, time.perf_counter() - t)
    idx.set_ef(64)
    t = time.perf_counter()
    for v in queries:
        idx.knn_query(v, k=k)
    qps = rate(q, time.perf_counter() - t)
    print(f"{'hnswlib (1 thread)':<30} insert {ins:>9.0f}/s   search {qps:>8.0f}/s   (n={n}, dim={dim}, k={k})")


if __name__ == "__main__":
    main()

"""Independent Python client test of toondb-server, through grpcio stubs generated from
crates/toondb-proto/proto/toondb/v1/toondb.proto. Run by run.sh, which sets TOONDB_ADDR and TOONDB_TOKEN."""

import json
import os
import unittest

import grpc

from toondb.v1 import toondb_pb2 as pb
from toondb.v1 import toondb_pb2_grpc as rpc

ADDR = os.environ["TOONDB_ADDR"]
TOKEN = os.environ["TOONDB_TOKEN"]
AUTH = (("authorization", "Bearer " + TOKEN),)


class ToonDbGrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel(ADDR)
        grpc.channel_ready_future(cls.channel).result(timeout=30)
        cls.kv = rpc.KvStub(cls.channel)
        cls.txn = rpc.TransactionsStub(cls.channel)
        cls.sql = rpc.SqlStub(cls.channel)
        cls.coll = rpc.CollectionsStub(cls.channel)
        cls.ctx = rpc.ContextQueriesStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def test_auth_is_required(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.kv.Get(pb.GetRequest(key=b"x"), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as cm:
            self.kv.Get(pb.GetRequest(key=b"x"), metadata=(("authorization", "Bearer wrong"),), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_kv_put_get_delete_batch_scan(self):
        self.kv.Put(pb.PutRequest(key=b"py/a", value=b"1"), metadata=AUTH, timeout=10)
        r = self.kv.Get(pb.GetRequest(key=b"py/a"), metadata=AUTH, timeout=10)
        self.assertTrue(r.found)
        self.assertEqual(r.value, b"1")
        ops = [pb.BatchOp(put=pb.KeyValue(key=b"py/k%04d" % i, value=b"v%d" % i)) for i in range(500)]
        ops.append(pb.BatchOp(delete=b"py/a"))
        self.assertEqual(self.kv.Batch(pb.BatchRequest(ops=ops), metadata=AUTH, timeout=10).applied, 501)
        self.assertFalse(self.kv.Get(pb.GetRequest(key=b"py/a"), metadata=AUTH, timeout=10).found)
        pairs = []
        chunks = 0
        for chunk in self.kv.Scan(pb.ScanRequest(prefix=b"py/k"), metadata=AUTH, timeout=10):
            chunks += 1
            pairs.extend((kv.key, kv.value) for kv in chunk.pairs)
        self.assertEqual(len(pairs), 500)
        self.assertGreaterEqual(chunks, 2)
        self.assertEqual(pairs[0], (b"py/k0000", b"v0"))
        self.assertEqual([k for k, _ in pairs], sorted(k for k, _ in pairs))
        rev = [kv.key for c in self.kv.Scan(pb.ScanRequest(prefix=b"py/k", reverse=True, limit=3),
                                            metadata=AUTH, timeout=10) for kv in c.pairs]
        self.assertEqual(rev, [b"py/k0499", b"py/k0498", b"py/k0497"])

    def test_transaction_commit_and_unknown_handle(self):
        h = self.txn.Begin(pb.BeginRequest(), metadata=AUTH, timeout=10).txn
        self.kv.Put(pb.PutRequest(key=b"py/tx", value=b"1", txn=h), metadata=AUTH, timeout=10)
        self.assertFalse(self.kv.Get(pb.GetRequest(key=b"py/tx"), metadata=AUTH, timeout=10).found)
        self.txn.Commit(pb.CommitRequest(txn=h), metadata=AUTH, timeout=10)
        self.assertTrue(self.kv.Get(pb.GetRequest(key=b"py/tx"), metadata=AUTH, timeout=10).found)
        with self.assertRaises(grpc.RpcError) as cm:
            self.txn.Commit(pb.CommitRequest(txn=h), metadata=AUTH, timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_sql_execute_and_streaming_query(self):
        self.sql.Execute(pb.SqlRequest(sql="CREATE TABLE py_t(id INTEGER PRIMARY KEY, name TEXT, score REAL)"),
                         metadata=AUTH, timeout=10)
        r = self.sql.Execute(pb.SqlRequest(
            sql="INSERT INTO py_t(name, score) VALUES (?, ?), (?, ?)",
            params=[pb.Value(text="ada"), pb.Value(real=1.5), pb.Value(text="bob"), pb.Value(null=True)]),
            metadata=AUTH, timeout=10)
        self.assertEqual(r.rows_affected, 2)
        chunks = list(self.sql.Query(pb.SqlRequest(sql="SELECT id, name, score FROM py_t ORDER BY id"),
                                     metadata=AUTH, timeout=10))
        cols = [(c.name, c.type) for c in chunks[0].columns]
        self.assertEqual(cols, [("id", pb.COLUMN_TYPE_INTEGER), ("name", pb.COLUMN_TYPE_TEXT),
                                ("score", pb.COLUMN_TYPE_REAL)])
        rows = [row for c in chunks for row in c.rows]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0].values[1].text, "ada")
        self.assertEqual(rows[0].values[2].real, 1.5)
        self.assertEqual(rows[1].values[2].WhichOneof("kind"), "null")
        with self.assertRaises(grpc.RpcError) as cm:
            self.sql.Execute(pb.SqlRequest(sql="SELEKT 1"), metadata=AUTH, timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as cm:
            self.sql.Execute(pb.SqlRequest(sql="SELECT * FROM no_such_table"), metadata=AUTH, timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def _docs(self):
        self.coll.CreateCollection(pb.CreateCollectionRequest(name="py_docs", dimension=3,
                                                              metric=pb.METRIC_COSINE, if_not_exists=True),
                                   metadata=AUTH, timeout=10)
        docs = [
            pb.Document(id="a", vector=[1, 0, 0], text="Rust storage engines", metadata_json=json.dumps({"lang": "en"})),
            pb.Document(id="b", vector=[0, 1, 0], text="Vector search with HNSW", metadata_json=json.dumps({"lang": "en"})),
            pb.Document(id="c", vector=[0, 0, 1], text="Datenbanken in Rust", metadata_json=json.dumps({"lang": "de"})),
        ]
        self.coll.Upsert(pb.UpsertRequest(collection="py_docs", documents=docs), metadata=AUTH, timeout=10)

    def test_collection_search(self):
        self._docs()
        r = self.coll.Search(pb.SearchRequest(collection="py_docs", vector=[0.9, 0.1, 0], k=2),
                             metadata=AUTH, timeout=10)
        self.assertEqual([h.id for h in r.hits], ["a", "b"])
        r = self.coll.Search(pb.SearchRequest(collection="py_docs", vector=[0, 0.1, 0.9], k=3,
                                              filter_json=json.dumps({"lang": "en"})), metadata=AUTH, timeout=10)
        self.assertNotIn("c", [h.id for h in r.hits])
        r = self.coll.HybridSearch(pb.HybridSearchRequest(collection="py_docs", text="vector search",
                                                          vector=[0, 1, 0], k=2), metadata=AUTH, timeout=10)
        self.assertEqual(r.hits[0].id, "b")
        self.assertEqual(json.loads(r.hits[0].metadata_json), {"lang": "en"})
        with self.assertRaises(grpc.RpcError) as cm:
            self.coll.Search(pb.SearchRequest(collection="py_docs", vector=[1, 0], k=2), metadata=AUTH, timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as cm:
            self.coll.Search(pb.SearchRequest(collection="py_missing", vector=[1, 0, 0], k=2), metadata=AUTH, timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_context_query(self):
        self._docs()
        r = self.ctx.Query(pb.ContextQueryRequest(
            statement="CONTEXT SELECT SYSTEM 'Be brief.', SEARCH py_docs 'rust' K 2 AS docs BUDGET 120"),
            metadata=AUTH, timeout=10)
        self.assertTrue(r.toon.startswith("system: Be brief."), r.toon)
        self.assertIn("docs", r.toon)
        self.assertGreater(r.token_count, 0)
        self.assertLessEqual(r.token_count, 120)
        self.assertEqual(r.budget, 120)
        spec = pb.ContextSpec(budget=80, sections=[
            pb.ContextSection(system="Answer."),
            pb.ContextSection(name="hits", search=pb.ContextSearch(collection="py_docs", text="hnsw", k=1)),
        ])
        r = self.ctx.Query(pb.ContextQueryRequest(spec=spec), metadata=AUTH, timeout=10)
        self.assertIn("HNSW", r.toon)
        self.assertEqual([s.name for s in r.sections], ["system", "hits"])
        self.assertLessEqual(r.token_count, 80)


if __name__ == "__main__":
    unittest.main()


UNIX_PATH = os.environ["TOONDB_UNIX"]


def _health_check(channel, service=""):
    """grpc.health.v1.Health/Check by hand (no extra package): the request is
    HealthCheckRequest{service}, the answer HealthCheckResponse{status}; 1 = SERVING."""
    svc = service.encode()
    req = (b"\x0a" + bytes([len(svc)]) + svc) if svc else b""
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
    answer = check(req, timeout=10)
    return answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0


class ToonDbUnixSocketTest(unittest.TestCase):
    """grpc C-core over `unix:PATH` with DEFAULT channel options (no grpc.default_authority):
    C-core sends the percent-encoded socket path as :authority."""

    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel("unix:" + UNIX_PATH)
        grpc.channel_ready_future(cls.channel).result(timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def test_health_check_over_unix_socket_with_default_options(self):
        self.assertEqual(_health_check(self.channel), 1)
        self.assertEqual(_health_check(self.channel, "toondb.v1.Sql"), 1)

    def test_sql_over_unix_socket_with_default_options(self):
        sql = rpc.SqlStub(self.channel)
        sql.Execute(pb.SqlRequest(sql="CREATE TABLE py_unix(id INTEGER PRIMARY KEY, name TEXT)"),
                    metadata=AUTH, timeout=10)
        for i in range(3):  # later calls reuse C-core's HPACK dynamic-table entries
            r = sql.Execute(pb.SqlRequest(sql="INSERT INTO py_unix(name) VALUES (?)",
                                          params=[pb.Value(text="n%d" % i)]),
                            metadata=AUTH, timeout=10)
            self.assertEqual(r.rows_affected, 1)
        chunks = list(sql.Query(pb.SqlRequest(sql="SELECT name FROM py_unix ORDER BY id"),
                                metadata=AUTH, timeout=10))
        self.assertEqual([row.values[0].text for c in chunks for row in c.rows], ["n0", "n1", "n2"])

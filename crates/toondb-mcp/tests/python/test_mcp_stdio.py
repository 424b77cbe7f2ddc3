"""The official MCP Python SDK (`mcp` on PyPI) drives `toondb mcp` over stdio.

Environment: TOONDB_BIN (the toondb CLI), TOONDB_DB (a database made by the `seed` example).
Lists the tools and resources, calls every tool, checks that writes are refused in read-only
mode, that a malformed argument is a JSON-RPC invalid-params error (and the server survives),
then reconnects with --allow-writes and writes.
"""

import json
import os
import unittest

import anyio
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

BIN = os.environ["TOONDB_BIN"]
DB = os.environ["TOONDB_DB"]

EXPECTED_TOOLS = {
    "sql",
    "list_tables",
    "describe_table",
    "search",
    "build_context",
    "kv_get",
    "kv_put",
    "kv_scan",
    "graph_neighbors",
    "graph_traverse",
    "graph_add",
}
INVALID_PARAMS = -32602


def text_of(result):
    assert result.content, result
    return result.content[0].text


def meta_of(result):
    meta = getattr(result, "meta", None)
    if meta is None:
        meta = result.model_dump(by_alias=True).get("_meta")
    return meta or {}


async def session_run(args, body):
    params = StdioServerParameters(command=BIN, args=["mcp", DB, *args])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)


class ReadOnly(unittest.TestCase):
    def test_read_only_session(self):
        async def body(s):
            tools = await s.list_tools()
            names = {t.name for t in tools.tools}
            self.assertEqual(names, EXPECTED_TOOLS)
            for t in tools.tools:
                schema = t.input_schema if hasattr(t, "input_schema") else t.inputSchema
                self.assertEqual(schema.get("type"), "object", t.name)
            search_schema = next(
                (t.input_schema if hasattr(t, "input_schema") else t.inputSchema)
                for t in tools.tools
                if t.name == "search"
            )
            self.assertIn("collection", search_schema["required"])

            # Resources: the schema of each table and collection.
            res = await s.list_resources()
            uris = {str(r.uri) for r in res.resources}
            self.assertIn("toondb://table/orders", uris)
            self.assertIn("toondb://collection/docs", uris)
            table = await s.read_resource("toondb://table/orders")
            self.assertIn("item", table.contents[0].text)
            coll = await s.read_resource("toondb://collection/docs")
            self.assertIn("dim: 3", coll.contents[0].text)
            with self.assertRaises(MCPError):
                await s.read_resource("toondb://table/nope")

            # sql: TOON by default, with a token count; JSON on request.
            r = await s.call_tool("sql", {"sql": "SELECT item, total FROM orders ORDER BY id"})
            self.assertFalse(r.is_error if hasattr(r, "is_error") else r.isError)
            self.assertIn("rows[2]{item,total}:", text_of(r))
            self.assertIn("book,12.5", text_of(r))
            self.assertGreater(meta_of(r)["toondb/tokens"], 0)
            self.assertEqual(meta_of(r)["toondb/format"], "toon")
            r = await s.call_tool(
                "sql", {"sql": "SELECT item FROM orders WHERE total > ?", "params": [5], "format": "json"}
            )
            self.assertEqual(json.loads(text_of(r))["rows"], [{"item": "book"}])
            self.assertEqual(meta_of(r)["toondb/format"], "json")

            r = await s.call_tool("list_tables", {})
            self.assertIn("orders", text_of(r))
            self.assertIn("docs", text_of(r))
            r = await s.call_tool("describe_table", {"table": "orders", "format": "json"})
            cols = [c["name"] for c in json.loads(text_of(r))["columns"]]
            self.assertEqual(cols, ["id", "item", "total"])

            r = await s.call_tool("search", {"collection": "docs", "text": "rust", "k": 2})
            self.assertIn("hits[2]", text_of(r))
            r = await s.call_tool(
                "search",
                {"collection": "docs", "vector": [0.9, 0.1, 0.0], "k": 1, "filter": {"lang": "en"}, "format": "json"},
            )
            self.assertEqual(json.loads(text_of(r))["hits"][0]["id"], "a")

            r = await s.call_tool(
                "build_context",
                {
                    "budget": 120,
                    "system": "Answer from memory.",
                    "searches": [{"collection": "docs", "text": "vector search", "k": 2}],
                    "sql": [{"name": "orders", "query": "SELECT item FROM orders"}],
                    "graph": [{"namespace": "memory", "start": "alice", "depth": 2}],
                },
            )
            self.assertTrue(text_of(r).startswith("system: Answer from memory."), text_of(r))
            self.assertLessEqual(meta_of(r)["toondb/tokens"], 120)
            r = await s.call_tool(
                "build_context", {"statement": "CONTEXT SELECT GRAPH memory FROM 'alice' DEPTH 1 BUDGET 50"}
            )
            self.assertIn("bob", text_of(r))

            r = await s.call_tool("kv_get", {"key": "user:alice:prefs"})
            self.assertIn("short answers", text_of(r))
            r = await s.call_tool("kv_scan", {"prefix": "user:", "format": "json"})
            self.assertEqual(len(json.loads(text_of(r))["pairs"]), 2)

            r = await s.call_tool("graph_neighbors", {"namespace": "memory", "node": "bob", "direction": "both", "format": "json"})
            ids = sorted(n["id"] for n in json.loads(text_of(r))["neighbors"])
            self.assertEqual(ids, ["acme", "alice"])
            r = await s.call_tool("graph_traverse", {"namespace": "memory", "start": "alice", "depth": 2, "format": "json"})
            self.assertEqual([v["id"] for v in json.loads(text_of(r))["visited"]], ["alice", "bob", "acme"])
            r = await s.call_tool("graph_traverse", {"namespace": "memory", "start": "alice", "target": "acme", "depth": 3, "format": "json"})
            self.assertEqual(json.loads(text_of(r))["nodes"], ["alice", "bob", "acme"])

            # Writes are refused in read-only mode: a tool error with a clear message.
            for name, args in [
                ("kv_put", {"key": "k", "value": "v"}),
                ("graph_add", {"namespace": "memory", "nodes": [{"id": "x", "label": "t"}]}),
                ("sql", {"sql": "INSERT INTO orders(item, total) VALUES ('x', 1)"}),
                ("sql", {"sql": "SELECT 1; DROP TABLE orders"}),
            ]:
                r = await s.call_tool(name, args)
                self.assertTrue(r.is_error if hasattr(r, "is_error") else r.isError, name)
                self.assertIn("read-only", text_of(r))
            r = await s.call_tool("sql", {"sql": "SELECT count(*) AS n FROM orders", "format": "json"})
            self.assertEqual(json.loads(text_of(r))["rows"], [{"n": 2}])

            # Malformed arguments: JSON-RPC invalid params, and the server keeps serving.
            for name, args in [
                ("search", {"collection": "docs", "text": "x", "k": "five"}),
                ("search", {"text": "x"}),
                ("kv_get", {"key": "k", "bogus": 1}),
                ("graph_traverse", {"namespace": "memory", "start": "alice", "depth": 1000}),
                ("kv_put", {"key": 5, "value": "v"}),
                ("no_such_tool", {}),
            ]:
                with self.assertRaises(MCPError) as cm:
                    await s.call_tool(name, args)
                self.assertEqual(cm.exception.code, INVALID_PARAMS, (name, cm.exception.message))
            # A database error is a tool error naming its kind.
            r = await s.call_tool("describe_table", {"table": "nope"})
            self.assertTrue(r.is_error if hasattr(r, "is_error") else r.isError)
            self.assertIn("not_found", text_of(r))
            r = await s.call_tool("sql", {"sql": "SELEC oops"})
            self.assertTrue(r.is_error if hasattr(r, "is_error") else r.isError)
            r = await s.call_tool("list_tables", {})
            self.assertIn("orders", text_of(r))

        anyio.run(session_run, [], body)

    def test_writes_with_allow_writes(self):
        async def body(s):
            r = await s.call_tool("kv_put", {"key": "mcp:test", "value": "written"})
            self.assertFalse(r.is_error if hasattr(r, "is_error") else r.isError, text_of(r))
            r = await s.call_tool("kv_get", {"key": "mcp:test"})
            self.assertIn("written", text_of(r))
            r = await s.call_tool(
                "graph_add",
                {
                    "namespace": "memory",
                    "nodes": [{"id": "carol", "label": "person", "props": {"name": "Carol"}}],
                    "edges": [{"src": "carol", "type": "knows", "dst": "alice"}],
                },
            )
            self.assertFalse(r.is_error if hasattr(r, "is_error") else r.isError, text_of(r))
            r = await s.call_tool("graph_neighbors", {"namespace": "memory", "node": "alice", "direction": "in", "format": "json"})
            self.assertIn("carol", [n["id"] for n in json.loads(text_of(r))["neighbors"]])
            r = await s.call_tool("sql", {"sql": "INSERT INTO orders(item, total) VALUES ('ink', 3)", "format": "json"})
            self.assertEqual(json.loads(text_of(r))["rows_affected"], 1)
            # An edge to a missing node is a tool error; nothing of that call is written.
            r = await s.call_tool(
                "graph_add",
                {"namespace": "memory", "nodes": [{"id": "dave", "label": "person"}], "edges": [{"src": "dave", "type": "knows", "dst": "nobody"}]},
            )
            self.assertTrue(r.is_error if hasattr(r, "is_error") else r.isError)
            self.assertIn("not_found", text_of(r))
            r = await s.call_tool("graph_traverse", {"namespace": "memory", "start": "dave", "format": "json"})
            self.assertEqual(json.loads(text_of(r))["visited"], [])
            # Clean up so the read-only test sees the seeded state if run again.
            r = await s.call_tool("sql", {"sql": "DELETE FROM orders WHERE item = 'ink'"})
            self.assertFalse(r.is_error if hasattr(r, "is_error") else r.isError, text_of(r))

        anyio.run(session_run, ["--allow-writes"], body)


if __name__ == "__main__":
    unittest.main(verbosity=2)

import pytest

import toondb


def chain(db):
    g = db.graph("mem")
    with db.transaction() as tx:
        tg = tx.graph("mem")
        for n in "abcd":
            tg.add_node(n, "n", {"name": n.upper()})
        tg.add_edge("a", "next", "b", {"w": 1})
        tg.add_edge("b", "next", "c", {"w": 2})
        tg.add_edge("c", "next", "d", {"w": 3})
        tg.add_edge("a", "likes", "d", {"w": 9})
    return g


def test_nodes_edges_and_walks(db):
    g = chain(db)
    assert g.namespace == "mem"
    assert g.get_node("a")["props"] == {"name": "A"}
    assert g.get_node("zz") is None
    assert [n["id"] for n in g.neighbors("a")] == ["d", "b"]
    assert [n["id"] for n in g.neighbors("a", edge_types=["next"])] == ["b"]
    assert [n["id"] for n in g.neighbors("b", direction="in")] == ["a"]
    assert [n["id"] for n in g.neighbors("a", filter={"w": {"$gt": 5}})] == ["d"]
    assert [v["id"] for v in g.traverse("a", depth=3, edge_types=["next"])] == ["a", "b", "c", "d"]
    assert [v["id"] for v in g.traverse("a", depth=3, order="dfs")] == ["a", "d", "b", "c"]
    assert g.shortest_path("a", "c", depth=4)["nodes"] == ["a", "b", "c"]
    assert g.shortest_path("d", "a") is None
    sg = g.subgraph("b", depth=1, direction="both")
    assert sorted(n["id"] for n in sg["nodes"]) == ["a", "b", "c"]
    g.update_edge("a", "next", "b", {"w": 5})
    assert g.get_edge("a", "next", "b")["props"] == {"w": 5}
    assert g.delete_edge("a", "likes", "d") == {"deleted": True}
    assert g.delete_node("d") == {"deleted": True}
    assert g.get_node("d") is None
    assert [n["id"] for n in g.nodes(label="n")] == ["a", "b", "c"]


def test_bitemporal_recall(db):
    g = db.graph("hr")
    g.add_node("alice", "person", {"title": "dev"}, valid_from=100)
    first = g.get_node("alice")
    g.update_node("alice", {"title": "lead"}, valid_from=200)
    assert g.get_node("alice", as_of_valid=150)["props"] == {"title": "dev"}
    assert g.get_node("alice", as_of_valid=250)["props"] == {"title": "lead"}
    # What was known before the promotion was recorded.
    assert g.get_node("alice", as_of_valid=250, as_of_tx=first["tx_from"])["props"] == {"title": "dev"}
    assert g.get_node("alice", as_of_valid=50) is None
    assert len(g.node_history("alice")) == 3


def test_transaction_atomicity_and_errors(db):
    db.execute("CREATE TABLE log(msg TEXT)")
    g = db.graph("m")
    g.add_node("u", "user")
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO log VALUES ('x')")
            tx.graph("m").add_node("n", "note")
            tx.graph("m").add_edge("u", "wrote", "n")
            raise RuntimeError("abort")
    assert g.get_node("n") is None
    assert db.query("SELECT count(*) FROM log") == [(0,)]

    with pytest.raises(toondb.AlreadyExistsError):
        g.add_node("u", "user")
    with pytest.raises(toondb.NotFoundError):
        g.add_edge("u", "knows", "ghost")
    with pytest.raises(toondb.InvalidArgumentError):
        g.traverse("u", depth=1000)
    with pytest.raises(toondb.InvalidArgumentError):
        g.neighbors("u", bogus=1)
    with pytest.raises(toondb.InvalidArgumentError):
        g.add_node("x", "l", [1, 2])
    with pytest.raises(toondb.InvalidArgumentError):
        db.graph("")

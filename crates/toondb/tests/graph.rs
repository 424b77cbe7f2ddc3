//! The temporal graph: CRUD, bi-temporal recall, adjacency queries, traversals, atomicity with
//! rows/documents/keys, and refusal of bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use serde_json::json;
use toondb::graph::{AsOf, EdgeDirection, Order, Valid, Walk, MAX_DEPTH};
use toondb::{params, Database, Document, ErrorKind, Filter, Metric};

fn db() -> Database {
    Database::open_in_memory().unwrap()
}

fn ids(v: &[toondb::graph::Visit]) -> Vec<String> {
    v.iter().map(|x| x.id.clone()).collect()
}

#[test]
fn nodes_and_edges_add_update_delete_get() {
    let db = db();
    let g = db.graph("mem").unwrap();
    g.add_node("a", "person", json!({"name": "A"}), Valid::now())
        .unwrap();
    g.add_node("b", "person", json!(null), Valid::now())
        .unwrap();
    let e = g
        .add_node("a", "person", json!({}), Valid::now())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);

    let n = g.get_node("a", AsOf::now()).unwrap().unwrap();
    assert_eq!(
        (n.label.as_str(), n.props["name"].clone()),
        ("person", json!("A"))
    );
    assert!(n.valid_to.is_none() && n.tx_to.is_none());

    g.update_node("a", None, json!({"name": "A2"}), Valid::now())
        .unwrap();
    let n = g.get_node("a", AsOf::now()).unwrap().unwrap();
    assert_eq!(n.props["name"], "A2");
    assert_eq!(n.label, "person");
    assert_eq!(
        g.update_node("zz", None, json!({}), Valid::now())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    g.add_edge("a", "knows", "b", json!({"since": 2020}), Valid::now())
        .unwrap();
    assert_eq!(
        g.add_edge("a", "knows", "b", json!({}), Valid::now())
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        g.add_edge("a", "knows", "nobody", json!({}), Valid::now())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    g.update_edge("a", "knows", "b", json!({"since": 2021}), Valid::now())
        .unwrap();
    let e = g.get_edge("a", "knows", "b", AsOf::now()).unwrap().unwrap();
    assert_eq!(e.props["since"], 2021);

    assert!(g.delete_edge("a", "knows", "b", Valid::now()).unwrap());
    assert!(!g.delete_edge("a", "knows", "b", Valid::now()).unwrap());
    assert!(g
        .get_edge("a", "knows", "b", AsOf::now())
        .unwrap()
        .is_none());

    // Deleting a node ends its edges too.
    g.add_edge("b", "knows", "a", json!({}), Valid::now())
        .unwrap();
    assert!(g.delete_node("a", Valid::now()).unwrap());
    assert!(g.get_node("a", AsOf::now()).unwrap().is_none());
    assert!(g
        .get_edge("b", "knows", "a", AsOf::now())
        .unwrap()
        .is_none());
    assert!(g.neighbors("b", &Walk::default()).unwrap().is_empty());
    // ... and it can be added again.
    g.add_node("a", "person", json!({"name": "again"}), Valid::now())
        .unwrap();
    assert_eq!(
        g.get_node("a", AsOf::now()).unwrap().unwrap().props["name"],
        "again"
    );

    // Namespaces are independent.
    assert!(db
        .graph("other")
        .unwrap()
        .get_node("b", AsOf::now())
        .unwrap()
        .is_none());
}

#[test]
fn bitemporal_recall_of_what_was_true_and_what_was_known() {
    let db = db();
    let g = db.graph("hr").unwrap();
    // Alice worked at Acme from t=100 (valid time), recorded now.
    g.add_node("alice", "person", json!({}), Valid::from(100))
        .unwrap();
    g.add_node("acme", "company", json!({}), Valid::from(100))
        .unwrap();
    let e1 = g
        .add_edge(
            "alice",
            "works_at",
            "acme",
            json!({"title": "dev"}),
            Valid::from(100),
        )
        .unwrap();
    // Later we learn she was promoted at t=200.
    let e2 = g
        .update_edge(
            "alice",
            "works_at",
            "acme",
            json!({"title": "lead"}),
            Valid::from(200),
        )
        .unwrap();
    assert!(e2.tx_from > e1.tx_from);
    let at = |v: i64| {
        g.get_edge("alice", "works_at", "acme", AsOf::valid(v))
            .unwrap()
    };
    assert!(at(50).is_none());
    assert_eq!(at(150).unwrap().props["title"], "dev");
    assert_eq!(at(250).unwrap().props["title"], "lead");
    assert_eq!(
        g.get_edge("alice", "works_at", "acme", AsOf::now())
            .unwrap()
            .unwrap()
            .props["title"],
        "lead"
    );

    // Then we learn she left at t=300.
    let tx_before_leaving = g
        .get_edge("alice", "works_at", "acme", AsOf::now())
        .unwrap()
        .unwrap()
        .tx_from;
    assert!(g
        .delete_edge("alice", "works_at", "acme", Valid::between(300, i64::MAX))
        .unwrap());
    assert!(at(350).is_none());
    assert_eq!(at(250).unwrap().props["title"], "lead");
    // What the database knew before it learnt that: she was still there at t=350.
    let known = g
        .get_edge(
            "alice",
            "works_at",
            "acme",
            AsOf::at(Some(350), Some(tx_before_leaving)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(known.props["title"], "lead");
    // Before the promotion was recorded, t=250 was believed to be "dev".
    let known = g
        .get_edge(
            "alice",
            "works_at",
            "acme",
            AsOf::at(Some(250), Some(e1.tx_from)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(known.props["title"], "dev");
    // Before anything was recorded, nothing was known.
    assert!(g
        .get_node("alice", AsOf::at(Some(150), Some(e1.tx_from - 1_000_000)))
        .unwrap()
        .is_none());

    // Neighbours and walks honour the time too.
    let w = Walk::default().as_of(AsOf::valid(150));
    assert_eq!(g.neighbors("alice", &w).unwrap().len(), 1);
    assert!(g.neighbors("alice", &Walk::default()).unwrap().is_empty());

    // History keeps every version; node update with a valid start splits the interval.
    g.update_node("alice", None, json!({"city": "Oslo"}), Valid::from(500))
        .unwrap();
    assert_eq!(
        g.get_node("alice", AsOf::valid(400))
            .unwrap()
            .unwrap()
            .props,
        json!({}).as_object().unwrap().clone()
    );
    assert_eq!(
        g.get_node("alice", AsOf::valid(600))
            .unwrap()
            .unwrap()
            .props["city"],
        "Oslo"
    );
    let h = g.node_history("alice").unwrap();
    assert_eq!(h.len(), 3, "{h:?}"); // original (closed), [100,500) re-recorded, [500,inf)
    assert_eq!(h.iter().filter(|n| n.tx_to.is_none()).count(), 2);

    assert_eq!(
        g.add_node("x", "t", json!({}), Valid::between(10, 10))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

fn chain(db: &Database) -> toondb::Graph {
    // a -> b -> c -> d, a -> e (type likes), f isolated.
    let g = db.graph("g").unwrap();
    db.transaction(|tx| {
        let t = tx.graph("g")?;
        for n in ["a", "b", "c", "d", "e", "f"] {
            t.add_node(n, "n", json!({}), Valid::now())?;
        }
        t.add_edge("a", "next", "b", json!({"w": 1}), Valid::now())?;
        t.add_edge("b", "next", "c", json!({"w": 2}), Valid::now())?;
        t.add_edge("c", "next", "d", json!({"w": 3}), Valid::now())?;
        t.add_edge("a", "likes", "e", json!({"w": 9}), Valid::now())?;
        Ok(())
    })
    .unwrap();
    g
}

#[test]
fn neighbours_filter_by_direction_type_and_properties() {
    let db = db();
    let g = chain(&db);
    let out: Vec<String> = g
        .neighbors("a", &Walk::default())
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(out, ["e", "b"]); // key order: type "likes" < "next"
    let typed = g
        .neighbors("a", &Walk::default().edge_types(["next"]))
        .unwrap();
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].id, "b");
    let inc = g
        .neighbors("b", &Walk::default().direction(EdgeDirection::In))
        .unwrap();
    assert_eq!(inc[0].id, "a");
    assert_eq!(
        (inc[0].edge.src.as_str(), inc[0].edge.dst.as_str()),
        ("a", "b")
    );
    let both = g
        .neighbors("b", &Walk::default().direction(EdgeDirection::Both))
        .unwrap();
    assert_eq!(both.len(), 2);
    let heavy = g
        .neighbors("a", &Walk::default().filter(Filter::range("w").gt(5)))
        .unwrap();
    assert_eq!(heavy.len(), 1);
    assert_eq!(heavy[0].id, "e");
    assert_eq!(
        g.neighbors("a", &Walk::default().limit(1)).unwrap().len(),
        1
    );
}

#[test]
fn bfs_dfs_shortest_path_and_subgraph_respect_limits() {
    let db = db();
    let g = chain(&db);
    let bfs = g.traverse("a", &Walk::default().max_depth(2)).unwrap();
    assert_eq!(ids(&bfs), ["a", "e", "b", "c"]);
    assert_eq!(bfs[3].depth, 2);
    assert_eq!(bfs[3].via.as_ref().unwrap().src, "b");
    let dfs = g
        .traverse("a", &Walk::default().max_depth(10).order(Order::Dfs))
        .unwrap();
    assert_eq!(ids(&dfs), ["a", "e", "b", "c", "d"]);
    let capped = g
        .traverse("a", &Walk::default().max_depth(10).max_nodes(3))
        .unwrap();
    assert_eq!(capped.len(), 3);
    assert!(g.traverse("nope", &Walk::default()).unwrap().is_empty());

    let p = g
        .shortest_path("a", "d", &Walk::default().max_depth(5))
        .unwrap()
        .unwrap();
    assert_eq!(p.nodes, ["a", "b", "c", "d"]);
    assert_eq!(p.edges.len(), 3);
    assert!(g
        .shortest_path("a", "d", &Walk::default().max_depth(2))
        .unwrap()
        .is_none());
    assert!(g
        .shortest_path("d", "a", &Walk::default().max_depth(5))
        .unwrap()
        .is_none());
    let back = g
        .shortest_path(
            "d",
            "a",
            &Walk::default().max_depth(5).direction(EdgeDirection::In),
        )
        .unwrap()
        .unwrap();
    assert_eq!(back.nodes, ["d", "c", "b", "a"]);
    assert!(g
        .shortest_path("a", "f", &Walk::default().max_depth(5))
        .unwrap()
        .is_none());

    let sg = g
        .subgraph(
            "b",
            &Walk::default().direction(EdgeDirection::Both).max_depth(1),
        )
        .unwrap();
    let mut n: Vec<&str> = sg.nodes.iter().map(|n| n.id.as_str()).collect();
    n.sort();
    assert_eq!(n, ["a", "b", "c"]);
    assert_eq!(sg.edges.len(), 2);

    // Cycles terminate.
    g.add_edge("d", "next", "a", json!({}), Valid::now())
        .unwrap();
    let all = g
        .traverse("a", &Walk::default().max_depth(MAX_DEPTH).order(Order::Dfs))
        .unwrap();
    assert_eq!(all.len(), 5);
}

#[test]
fn untrusted_walk_parameters_are_refused_not_obeyed() {
    let db = db();
    let g = chain(&db);
    for w in [
        Walk::default().max_depth(MAX_DEPTH + 1),
        Walk::default().max_nodes(0),
        Walk::default().max_nodes(usize::MAX),
        Walk::default().limit(0),
        Walk::default().edge_types([""]),
    ] {
        let e = g.traverse("a", &w).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(db.graph("").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        g.get_node("", AsOf::now()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let long = "x".repeat(5000);
    assert_eq!(
        g.add_node(&long, "l", json!({}), Valid::now())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        g.add_node("q", "l", json!([1]), Valid::now())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // Ids containing the key encoding's escape bytes stay distinct.
    g.add_node("p\0", "l", json!({"z": 1}), Valid::now())
        .unwrap();
    g.add_node("p", "l", json!({"z": 2}), Valid::now()).unwrap();
    assert_eq!(
        g.get_node("p\0", AsOf::now()).unwrap().unwrap().props["z"],
        1
    );
    assert_eq!(g.get_node("p", AsOf::now()).unwrap().unwrap().props["z"], 2);
}

#[test]
fn one_transaction_writes_row_document_key_and_edge_atomically() {
    let db = db();
    db.execute("CREATE TABLE notes(id TEXT, body TEXT)", params![])
        .unwrap();
    db.create_collection("docs", 2, Metric::Cosine, Default::default())
        .unwrap();
    let g = db.graph("m").unwrap();
    g.add_node("u", "user", json!({}), Valid::now()).unwrap();

    // A failing transaction leaves nothing behind.
    let r: toondb::Result<()> = db.transaction(|tx| {
        tx.execute("INSERT INTO notes VALUES ('n1', 'hi')", params![])?;
        tx.collection("docs")?
            .upsert(Document::new("n1", vec![1.0, 0.0]).with_text("hi"))?;
        tx.put("k", "v")?;
        let tg = tx.graph("m")?;
        tg.add_node("n1", "note", json!({}), Valid::now())?;
        tg.add_edge("u", "wrote", "n1", json!({}), Valid::now())?;
        Err(toondb::Error::InvalidArgument("abort".into()))
    });
    assert!(r.is_err());
    assert!(g.get_node("n1", AsOf::now()).unwrap().is_none());
    assert!(g.neighbors("u", &Walk::default()).unwrap().is_empty());
    assert_eq!(db.get("k").unwrap(), None);

    // A committed one makes all of them visible together; inside, its own writes are seen.
    db.transaction(|tx| {
        tx.execute("INSERT INTO notes VALUES ('n1', 'hi')", params![])?;
        tx.collection("docs")?
            .upsert(Document::new("n1", vec![1.0, 0.0]).with_text("hi"))?;
        tx.put("k", "v")?;
        let tg = tx.graph("m")?;
        tg.add_node("n1", "note", json!({}), Valid::now())?;
        tg.add_edge("u", "wrote", "n1", json!({}), Valid::now())?;
        assert_eq!(tg.neighbors("u", &Walk::default())?.len(), 1);
        assert!(
            g.get_node("n1", AsOf::now())?.is_none(),
            "not visible before commit"
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(g.neighbors("u", &Walk::default()).unwrap()[0].id, "n1");
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(
        db.query("SELECT count(*) FROM notes", params![]).unwrap()[0]
            .get::<i64>(0)
            .unwrap(),
        1
    );
    assert_eq!(
        db.collection("docs")
            .unwrap()
            .get("n1")
            .unwrap()
            .unwrap()
            .id,
        "n1"
    );

    // Add then delete inside one transaction leaves no visible trace in any transaction time.
    db.transaction(|tx| {
        let tg = tx.graph("m")?;
        tg.add_node("tmp", "t", json!({}), Valid::now())?;
        tg.delete_node("tmp", Valid::now())?;
        Ok(())
    })
    .unwrap();
    assert!(g.node_history("tmp").unwrap().is_empty());
}

#[test]
fn graph_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let g = db.graph("m").unwrap();
        g.add_node("a", "x", json!({"k": 1}), Valid::now()).unwrap();
        g.add_node("b", "x", json!({}), Valid::now()).unwrap();
        g.add_edge("a", "r", "b", json!({}), Valid::now()).unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let g = db.graph("m").unwrap();
    assert_eq!(g.get_node("a", AsOf::now()).unwrap().unwrap().props["k"], 1);
    assert_eq!(g.neighbors("a", &Walk::default()).unwrap()[0].id, "b");
    assert_eq!(g.nodes(Some("x"), AsOf::now(), 10).unwrap().len(), 2);
}

#[test]
fn context_graph_section_packs_the_neighbourhood_nearest_first_under_the_budget() {
    let db = db();
    let g = chain(&db);
    g.update_node("b", None, json!({"note": "second"}), Valid::now())
        .unwrap();
    let rows = db
        .query("CONTEXT SELECT SYSTEM 'Use the memory.', GRAPH g FROM 'a' DEPTH 2 TYPES ('next') AS memory BUDGET 500", params![])
        .unwrap();
    let text: String = rows[0].get("context").unwrap();
    assert!(
        text.starts_with("system: Use the memory.\nmemory[3]"),
        "{text}"
    );
    assert!(text.contains("second"), "{text}");
    assert!(!text.contains("\"e\""), "{text}");

    // Under a tight budget the farthest nodes go first.
    let full = db
        .context()
        .budget(10_000)
        .section(toondb::Section::graph(
            "g",
            "a",
            Walk::default().max_depth(3),
        ))
        .build()
        .unwrap();
    assert_eq!(full.sections[0].items_included, 5);
    let tight = db
        .context()
        .budget(full.total_tokens - 1)
        .section(toondb::Section::graph(
            "g",
            "a",
            Walk::default().max_depth(3),
        ))
        .build()
        .unwrap();
    assert!(tight.total_tokens < full.total_tokens);
    assert!(tight.sections[0].items_included < 5);
    assert!(
        tight.text.contains("id: a") || tight.text.contains("a,"),
        "{}",
        tight.text
    );
    assert!(!tight.text.contains(",d,"), "{}", tight.text);

    // As of a valid time before anything existed: empty section.
    let rows = db
        .query(
            "CONTEXT SELECT GRAPH g FROM 'a' AS OF VALID 5 DIRECTION BOTH ORDER DFS BUDGET 100",
            params![],
        )
        .unwrap();
    assert_eq!(rows[0].get::<String>("context").unwrap(), "");

    for bad in [
        "CONTEXT SELECT GRAPH g 'a'",
        "CONTEXT SELECT GRAPH g FROM 'a' DEPTH 1000",
        "CONTEXT SELECT GRAPH g FROM 'a' DIRECTION sideways",
        "CONTEXT SELECT GRAPH g FROM 'a' AS OF NEVER 3",
    ] {
        let e = db.query(bad, params![]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
    }
}

#[test]
fn json_command_interface_matches_the_typed_api_and_refuses_bad_arguments() {
    let db = db();
    let g = chain(&db);
    let n = g.call_json("get_node", &json!({"id": "a"})).unwrap();
    assert_eq!(n["label"], "n");
    assert!(n["tx_to"].is_null());
    let t = g
        .call_json(
            "traverse",
            &json!({"start": "a", "depth": 3, "edge_types": ["next"]}),
        )
        .unwrap();
    let ids: Vec<&str> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    let p = g
        .call_json(
            "shortest_path",
            &json!({"start": "a", "target": "d", "depth": 5}),
        )
        .unwrap();
    assert_eq!(p["nodes"], json!(["a", "b", "c", "d"]));
    let sg = g
        .call_json("subgraph", &json!({"start": "a", "depth": 1}))
        .unwrap();
    assert_eq!(sg["edges"].as_array().unwrap().len(), 2);
    g.call_json(
        "update_edge",
        &json!({"src": "a", "type": "next", "dst": "b", "props": {"w": 7}}),
    )
    .unwrap();
    let nb = g
        .call_json(
            "neighbors",
            &json!({"node": "a", "filter": {"w": {"$gte": 7}}}),
        )
        .unwrap();
    assert_eq!(nb.as_array().unwrap().len(), 2);
    assert_eq!(
        g.call_json("delete_node", &json!({"id": "f"})).unwrap()["deleted"],
        true
    );
    assert!(g
        .call_json("get_node", &json!({"id": "f"}))
        .unwrap()
        .is_null());
    assert_eq!(
        g.call_json("nodes", &json!({"label": "n"}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        5
    );

    for (op, args) in [
        ("get_node", json!({})),
        ("get_node", json!({"id": 5})),
        ("get_node", json!({"id": "a", "extra": 1})),
        ("traverse", json!({"start": "a", "depth": -1})),
        ("traverse", json!({"start": "a", "depth": 100000})),
        ("traverse", json!({"start": "a", "order": "sideways"})),
        ("add_node", json!({"id": "z", "label": "l", "props": [1]})),
        ("frobnicate", json!({})),
        ("neighbors", json!([1, 2])),
    ] {
        let e = g.call_json(op, &args).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{op} {args}: {e}");
    }
}

#[test]
fn shortest_path_length_equals_bfs_depth_on_random_graphs() {
    let db = db();
    let g = db.graph("r").unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let n = 60u64;
    db.transaction(|tx| {
        let t = tx.graph("r")?;
        for i in 0..n {
            t.add_node(&format!("v{i}"), "v", json!({}), Valid::now())?;
        }
        Ok(())
    })
    .unwrap();
    let mut edges = Vec::new();
    for _ in 0..110 {
        let (a, b) = (next() % n, next() % n);
        if a != b {
            edges.push((a, b, if next() % 3 == 0 { "x" } else { "y" }));
        }
    }
    db.transaction(|tx| {
        let t = tx.graph("r")?;
        for (a, b, ty) in &edges {
            match t.add_edge(
                &format!("v{a}"),
                ty,
                &format!("v{b}"),
                json!({}),
                Valid::now(),
            ) {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                r => {
                    r?;
                }
            }
        }
        Ok(())
    })
    .unwrap();
    for dir in [EdgeDirection::Out, EdgeDirection::In, EdgeDirection::Both] {
        for types in [vec![], vec!["y"]] {
            let w = Walk::default()
                .direction(dir)
                .edge_types(types.clone())
                .max_depth(12)
                .max_nodes(10_000);
            for s in 0..8 {
                let start = format!("v{s}");
                let depth: std::collections::HashMap<String, usize> = g
                    .traverse(&start, &w)
                    .unwrap()
                    .into_iter()
                    .map(|v| (v.id, v.depth))
                    .collect();
                for t in 0..n {
                    let target = format!("v{t}");
                    let p = g.shortest_path(&start, &target, &w).unwrap();
                    match (depth.get(&target), p) {
                        (Some(d), Some(p)) => {
                            assert_eq!(p.edges.len(), *d, "{dir:?} {types:?} {start}->{target}");
                            assert_eq!(p.nodes.first(), Some(&start));
                            assert_eq!(p.nodes.last(), Some(&target));
                            // Consecutive nodes are joined by the listed edges.
                            for (i, e) in p.edges.iter().enumerate() {
                                let (x, y) = (&p.nodes[i], &p.nodes[i + 1]);
                                let ok = match dir {
                                    EdgeDirection::Out => &e.src == x && &e.dst == y,
                                    EdgeDirection::In => &e.dst == x && &e.src == y,
                                    EdgeDirection::Both => {
                                        (&e.src == x && &e.dst == y) || (&e.dst == x && &e.src == y)
                                    }
                                };
                                assert!(ok, "{dir:?} {x}->{y} via {e:?}");
                            }
                        }
                        (None, None) => {}
                        (d, p) => {
                            panic!("{dir:?} {types:?} {start}->{target}: bfs {d:?}, path {p:?}")
                        }
                    }
                }
            }
        }
    }
}

//! Collection writes inside user transactions: a SQL row and a document commit together or
//! not at all, and the in-memory index follows the storage commit exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use toondb::{params, CollectionOptions, Database, Document, ErrorKind, Metric};

fn setup(db: &Database) -> toondb::Collection {
    db.execute("CREATE TABLE notes(id TEXT, body TEXT)", params![])
        .unwrap();
    db.create_collection("docs", 3, Metric::L2, CollectionOptions::default())
        .unwrap()
}

fn note_count(db: &Database) -> i64 {
    db.query("SELECT count(*) FROM notes", params![]).unwrap()[0]
        .get::<i64>(0)
        .unwrap()
}

#[test]
fn sql_row_and_document_commit_together() {
    let db = Database::open_in_memory().unwrap();
    let docs = setup(&db);
    let mut tx = db.begin().unwrap();
    tx.execute("INSERT INTO notes VALUES (?, ?)", params!["n1", "alpha"])
        .unwrap();
    {
        let c = tx.collection("docs").unwrap();
        c.upsert(Document::new("n1", vec![1.0, 0.0, 0.0]).with_text("alpha beta"))
            .unwrap();
        // The transaction sees its own write; nobody else does, and search reads the
        // committed index.
        assert!(c.get("n1").unwrap().is_some());
    }
    assert_eq!(docs.get("n1").unwrap(), None);
    assert!(docs.search(&[1.0, 0.0, 0.0], 5).unwrap().is_empty());
    assert_eq!(note_count(&db), 0);
    tx.commit().unwrap();

    assert_eq!(note_count(&db), 1);
    let d = docs.get("n1").unwrap().unwrap();
    assert_eq!(d.vector, vec![1.0, 0.0, 0.0]);
    assert_eq!(docs.len(), 1);
    let hits = docs.search(&[1.0, 0.0, 0.0], 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "n1");
    let kw = docs.keyword_search("beta", 5).unwrap();
    assert_eq!(kw.len(), 1);
    assert_eq!(kw[0].id, "n1");
}

#[test]
fn rollback_drop_and_closure_error_leave_nothing() {
    let db = Database::open_in_memory().unwrap();
    let docs = setup(&db);

    let mut tx = db.begin().unwrap();
    tx.execute("INSERT INTO notes VALUES ('a', 'x')", params![])
        .unwrap();
    tx.collection("docs")
        .unwrap()
        .upsert(Document::new("a", vec![1.0, 2.0, 3.0]).with_text("gamma"))
        .unwrap();
    tx.rollback();

    {
        let mut tx = db.begin().unwrap();
        tx.execute("INSERT INTO notes VALUES ('b', 'y')", params![])
            .unwrap();
        tx.collection("docs")
            .unwrap()
            .upsert(Document::new("b", vec![3.0, 2.0, 1.0]))
            .unwrap();
        // dropped without commit
    }

    let r: toondb::Result<()> = db.transaction(|tx| {
        tx.execute("INSERT INTO notes VALUES ('c', 'z')", params![])?;
        tx.collection("docs")?
            .upsert(Document::new("c", vec![0.0, 1.0, 0.0]).with_text("gamma"))?;
        Err(toondb::Error::InvalidArgument("user abort".into()))
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidArgument);

    assert_eq!(note_count(&db), 0);
    for id in ["a", "b", "c"] {
        assert_eq!(docs.get(id).unwrap(), None, "{id}");
    }
    assert_eq!(docs.len(), 0);
    assert!(docs.search(&[1.0, 2.0, 3.0], 5).unwrap().is_empty());
    assert!(docs.keyword_search("gamma", 5).unwrap().is_empty());

    // Later writes still work and are indexed normally.
    docs.upsert(Document::new("d", vec![1.0, 1.0, 1.0]))
        .unwrap();
    let hits = docs.search(&[1.0, 1.0, 1.0], 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "d");
}

#[test]
fn delete_and_insert_inside_a_transaction() {
    let db = Database::open_in_memory().unwrap();
    let docs = setup(&db);
    docs.upsert(Document::new("old", vec![1.0, 0.0, 0.0]).with_text("stale words"))
        .unwrap();

    let mut tx = db.begin().unwrap();
    {
        let c = tx.collection("docs").unwrap();
        assert!(c.delete("old").unwrap());
        assert!(!c.delete("old").unwrap());
        assert_eq!(c.get("old").unwrap(), None);
        c.insert(Document::new("new", vec![0.0, 1.0, 0.0])).unwrap();
        let e = c
            .insert(Document::new("new", vec![0.0, 0.0, 1.0]))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(c.get("new").unwrap().unwrap().vector, vec![0.0, 1.0, 0.0]);
    }
    // Before commit the committed index still has "old" only.
    let before = docs.search(&[1.0, 0.0, 0.0], 5).unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].id, "old");
    tx.execute("INSERT INTO notes VALUES ('new', '')", params![])
        .unwrap();
    tx.commit().unwrap();

    assert_eq!(docs.get("old").unwrap(), None);
    assert_eq!(docs.len(), 1);
    let after = docs.search(&[1.0, 0.0, 0.0], 5).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, "new");
    assert!(docs.keyword_search("stale", 5).unwrap().is_empty());
    assert_eq!(note_count(&db), 1);
}

#[test]
fn conflict_retry_applies_index_updates_once() {
    let db = Database::open_in_memory().unwrap();
    let docs = setup(&db);
    let v1 = vec![10.0, 0.0, 0.0];
    let vc = vec![0.0, 10.0, 0.0];
    let v2 = vec![0.0, 0.0, 10.0];
    let mut attempts = 0;
    db.transaction(|tx| {
        attempts += 1;
        tx.execute("INSERT INTO notes VALUES ('d', 'body')", params![])?;
        let v = if attempts == 1 {
            v1.clone()
        } else {
            v2.clone()
        };
        tx.collection("docs")?
            .upsert(Document::new("d", v).with_text(format!("attempt{attempts}")))?;
        if attempts == 1 {
            // A concurrent writer commits the same document first: this attempt must lose.
            docs.upsert(Document::new("d", vc.clone()).with_text("concurrent"))?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(note_count(&db), 1);

    assert_eq!(docs.len(), 1);
    assert_eq!(docs.get("d").unwrap().unwrap().vector, v2);
    // Exactly one indexed version, holding the final vector.
    for q in [&v1, &vc, &v2] {
        let hits = docs.search(q, 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, "d");
    }
    let exact = docs.search(&v2, 1).unwrap();
    assert_eq!(exact[0].distance, Some(0.0));
    assert!(docs.search(&v1, 1).unwrap()[0].distance.unwrap() > 0.0);
    assert!(docs.keyword_search("attempt1", 5).unwrap().is_empty());
    assert!(docs.keyword_search("concurrent", 5).unwrap().is_empty());
    assert_eq!(docs.keyword_search("attempt2", 5).unwrap().len(), 1);
}

#[test]
fn two_transactions_on_one_collection_conflict() {
    let db = Database::open_in_memory().unwrap();
    let docs = setup(&db);
    let t1 = db.begin().unwrap();
    let t2 = db.begin().unwrap();
    t1.collection("docs")
        .unwrap()
        .upsert(Document::new("x", vec![1.0, 0.0, 0.0]))
        .unwrap();
    t2.collection("docs")
        .unwrap()
        .upsert(Document::new("y", vec![0.0, 1.0, 0.0]))
        .unwrap();
    t1.commit().unwrap();
    let e = t2.commit().unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(docs.len(), 1);
    let hits = docs.search(&[0.0, 1.0, 0.0], 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "x");
}

#[test]
fn dropped_collection_refuses_commit() {
    let db = Database::open_in_memory().unwrap();
    setup(&db);
    let mut tx = db.begin().unwrap();
    tx.put("k", "v").unwrap();
    tx.collection("docs")
        .unwrap()
        .upsert(Document::new("x", vec![1.0, 0.0, 0.0]))
        .unwrap();
    assert!(db.drop_collection("docs").unwrap());
    let e = tx.commit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(db.get("k").unwrap(), None);
}

#[test]
fn committed_document_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        setup(&db);
        db.transaction(|tx| {
            tx.execute("INSERT INTO notes VALUES ('p', 'persist')", params![])?;
            tx.collection("docs")?.upsert_many([
                Document::new("p", vec![0.0, 0.0, 1.0]).with_text("persisted words"),
                Document::new("q", vec![0.0, 1.0, 0.0]),
            ])?;
            Ok(())
        })
        .unwrap();
        let tx = db.begin().unwrap();
        tx.collection("docs")
            .unwrap()
            .upsert(Document::new("gone", vec![1.0, 0.0, 0.0]))
            .unwrap();
        tx.rollback();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(note_count(&db), 1);
    let docs = db.collection("docs").unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs.get("gone").unwrap(), None);
    let hits = docs.search(&[0.0, 0.0, 1.0], 1).unwrap();
    assert_eq!(hits[0].id, "p");
    assert_eq!(docs.keyword_search("persisted", 5).unwrap()[0].id, "p");
    // New writes after reopen get fresh internal ids and do not clobber the old ones.
    db.transaction(|tx| {
        tx.collection("docs")?
            .insert(Document::new("r", vec![1.0, 0.0, 0.0]))
    })
    .unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs.search(&[0.0, 0.0, 1.0], 1).unwrap()[0].id, "p");
    assert_eq!(docs.search(&[1.0, 0.0, 0.0], 1).unwrap()[0].id, "r");
}

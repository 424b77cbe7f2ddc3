//! The `async` feature's wrappers run the blocking calls off the executor and return the same
//! results. (Compiled only with `--features async`.)
#![cfg(feature = "async")]
#![allow(clippy::unwrap_used)]

use toondb_storage::{Engine, Isolation, Options, WriteBatch};

#[test]
fn async_wrappers_round_trip() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let db = Engine::open_in_memory(Options::default()).unwrap();
    rt.block_on(async {
        db.put_async(b"a".to_vec(), b"1".to_vec()).await.unwrap();
        let mut b = WriteBatch::new();
        b.put(b"b", b"2");
        db.write_async(b).await.unwrap();
        assert_eq!(
            db.get_async(b"a".to_vec()).await.unwrap(),
            Some(b"1".to_vec())
        );
        db.delete_async(b"a".to_vec()).await.unwrap();
        assert_eq!(db.get_async(b"a".to_vec()).await.unwrap(), None);
        let mut t = db.begin(Isolation::Snapshot).unwrap();
        t.put(b"c", b"3").unwrap();
        t.commit_async().await.unwrap();
        db.flush_async().await.unwrap();
        db.compact_all_async().await.unwrap();
        assert_eq!(
            db.get_async(b"c".to_vec()).await.unwrap(),
            Some(b"3".to_vec())
        );
    });
}

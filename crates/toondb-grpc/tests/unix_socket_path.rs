//! `--unix PATH` / `Listener::unix`: never deletes what is not a socket, replaces only a stale
//! socket, refuses a live one, and creates the socket with mode 0600 unless told otherwise.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use toondb_grpc::server::Listener;

#[tokio::test]
async fn refuses_an_existing_regular_file_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("important.txt");
    std::fs::write(&p, b"keep me").unwrap();
    let err = Listener::unix(&p).await.unwrap_err().to_string();
    assert!(err.contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&p).unwrap(), b"keep me");
}

#[tokio::test]
async fn refuses_a_directory_and_a_symlink_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(Listener::unix(&sub).await.is_err());
    assert!(sub.is_dir());
    let target = dir.path().join("t");
    std::fs::write(&target, b"x").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(Listener::unix(&link).await.is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"x");
}

#[tokio::test]
async fn replaces_a_stale_socket_and_refuses_a_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.sock");
    drop(std::os::unix::net::UnixListener::bind(&p).unwrap()); // leaves a stale socket file
    assert!(std::fs::symlink_metadata(&p)
        .unwrap()
        .file_type()
        .is_socket());
    let live = Listener::unix(&p).await.unwrap();
    let err = Listener::unix(&p).await.unwrap_err().to_string();
    assert!(err.contains("in use"), "{err}");
    drop(live);
}

#[tokio::test]
async fn socket_mode_is_0600_by_default_and_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.sock");
    let _a = Listener::unix(&p).await.unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let q = dir.path().join("b.sock");
    let _b = Listener::unix_with_mode(&q, 0o660).await.unwrap();
    let mode = std::fs::metadata(&q).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660, "{mode:o}");
    assert!(Listener::unix_with_mode(dir.path().join("c.sock"), 0o4777)
        .await
        .is_err());
}

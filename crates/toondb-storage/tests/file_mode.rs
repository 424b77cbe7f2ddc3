//! Data files are created owner read/write only by default (a private database), or with
//! the mode chosen in `Options::file_mode`.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use toondb_storage::{Engine, Options};

fn modes(dir: &Path) -> Vec<(String, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().permissions().mode() & 0o777,
            )
        })
        .collect()
}

fn fill(dir: &Path, opts: Options) {
    let db = Engine::open(dir, opts).unwrap();
    db.put(b"k", b"v").unwrap();
    db.flush().unwrap();
    db.close().unwrap();
}

#[test]
fn data_files_are_private_by_default() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), Options::default());
    let m = modes(dir.path());
    assert!(m.iter().any(|(n, _)| n.ends_with(".sst")), "{m:?}");
    for (name, mode) in &m {
        assert_eq!(*mode, 0o600, "{name}");
    }
}

#[test]
fn data_files_get_the_chosen_mode() {
    let dir = tempfile::tempdir().unwrap();
    fill(
        dir.path(),
        Options {
            file_mode: 0o640,
            ..Options::default()
        },
    );
    for (name, mode) in modes(dir.path()) {
        // The umask may remove bits, never add them; owner read/write stays.
        assert_eq!(mode & !0o640, 0, "{name}: {mode:o}");
        assert_eq!(mode & 0o600, 0o600, "{name}: {mode:o}");
    }
}

//! Names of the files in a database directory.

use std::path::{Path, PathBuf};

/// Name of the file pointing at the live manifest.
pub(crate) const CURRENT: &str = "CURRENT";
/// Name of the lock file.
pub(crate) const LOCK: &str = "LOCK";
/// Temporary name used while replacing CURRENT.
pub(crate) const CURRENT_TMP: &str = "CURRENT.tmp";

/// Kinds of files the engine owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Wal(u64),
    Table(u64),
    Manifest(u64),
    Current,
    CurrentTmp,
    Lock,
}

pub(crate) fn wal(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:06}.log"))
}
pub(crate) fn table(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:06}.sst"))
}
pub(crate) fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Classifies a directory entry name; `None` for files that are not ours.
pub(crate) fn classify(name: &Path) -> Option<FileKind> {
    let s = name.to_str()?;
    match s {
        CURRENT => return Some(FileKind::Current),
        CURRENT_TMP => return Some(FileKind::CurrentTmp),
        LOCK => return Some(FileKind::Lock),
        _ => {}
    }
    if let Some(n) = s.strip_prefix("MANIFEST-") {
        return number(n).map(FileKind::Manifest);
    }
    if let Some(n) = s.strip_suffix(".log") {
        return number(n).map(FileKind::Wal);
    }
    if let Some(n) = s.strip_suffix(".sst") {
        return number(n).map(FileKind::Table);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        let d = Path::new("/d");
        assert_eq!(
            classify(Path::new(wal(d, 7).file_name().unwrap())),
            Some(FileKind::Wal(7))
        );
        assert_eq!(
            classify(Path::new(table(d, 12).file_name().unwrap())),
            Some(FileKind::Table(12))
        );
        assert_eq!(
            classify(Path::new(&manifest_name(3))),
            Some(FileKind::Manifest(3))
        );
        assert_eq!(classify(Path::new("CURRENT")), Some(FileKind::Current));
        assert_eq!(classify(Path::new("notes.txt")), None);
        assert_eq!(classify(Path::new("x.log")), None);
    }
}

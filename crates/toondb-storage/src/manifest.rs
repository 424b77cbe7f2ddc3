//! The MANIFEST: a log of version edits (files added/removed per level, counters), framed like
//! the WAL, plus the `CURRENT` file naming the live manifest.

use crate::error::{Error, Result};
use crate::files;
use crate::log::{self, LogWriter};
use std::path::Path;
use toondb_core::vfs::Vfs;

/// On-disk format version written in the first record of every manifest.
pub const FORMAT_VERSION: u32 = 1;
/// Number of LSM levels.
pub(crate) const NUM_LEVELS: usize = 7;

/// Metadata of one table file, as recorded in the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileDesc {
    pub level: u8,
    pub number: u64,
    pub size: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub min_seq: u64,
    pub max_seq: u64,
}

/// One atomic change to the set of live files and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    pub format_version: Option<u32>,
    /// WAL files numbered below this are no longer needed.
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_seq: Option<u64>,
    pub added: Vec<FileDesc>,
    /// (level, file number)
    pub removed: Vec<(u8, u64)>,
}

/// Writes manifest `number` whose first record is `snapshot` (a full description of the
/// database), syncs it, then atomically points CURRENT at it: write `CURRENT.tmp`, sync,
/// rename over `CURRENT`, sync the directory. Returns the writer for later edits.
pub(crate) fn install_new_manifest(
    vfs: &dyn Vfs,
    dir: &Path,
    number: u64,
    snapshot: &VersionEdit,
) -> Result<LogWriter> {
    let path = dir.join(files::manifest_name(number));
    let mut man = LogWriter::new(
        vfs.create(&path).map_err(|e| Error::io(&path, e))?,
        path,
        number,
    );
    let mut rec = Vec::new();
    log::frame(&codec::encode(snapshot), &mut rec);
    man.append_framed(&rec)?;
    man.sync()?;
    // The manifest's own directory entry is durable before CURRENT can name it.
    vfs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(files::CURRENT_TMP);
    let cur = dir.join(files::CURRENT);
    (|| {
        let mut f = vfs.create(&tmp)?;
        f.append(format!("{}\n", files::manifest_name(number)).as_bytes())?;
        f.sync()?;
        drop(f);
        vfs.rename(&tmp, &cur)?;
        vfs.sync_dir(dir)
    })()
    .map_err(|e| Error::io(&cur, e))?;
    Ok(man)
}

const TAG_FORMAT: u8 = 1;
const TAG_LOG: u8 = 2;
const TAG_NEXT_FILE: u8 = 3;
const TAG_LAST_SEQ: u8 = 4;
const TAG_ADD: u8 = 5;
const TAG_REMOVE: u8 = 6;

/// Byte codec of a [`VersionEdit`]: a sequence of tagged fields.
///
/// ```text
/// 1 format_version u32 | 2 log_number u64 | 3 next_file_number u64 | 4 last_seq u64
/// 5 add: level u8, number u64, size u64, smallest (u32 len + bytes), largest (u32 len + bytes), min_seq u64, max_seq u64
/// 6 remove: level u8, number u64
/// ```
/// All integers little-endian.
pub(crate) mod codec {
    use super::*;

    pub(crate) fn encode(e: &VersionEdit) -> Vec<u8> {
        let mut o = Vec::new();
        if let Some(v) = e.format_version {
            o.push(TAG_FORMAT);
            o.extend_from_slice(&v.to_le_bytes());
        }
        for (tag, v) in [
            (TAG_LOG, e.log_number),
            (TAG_NEXT_FILE, e.next_file_number),
            (TAG_LAST_SEQ, e.last_seq),
        ] {
            if let Some(v) = v {
                o.push(tag);
                o.extend_from_slice(&v.to_le_bytes());
            }
        }
        for f in &e.added {
            o.push(TAG_ADD);
            o.push(f.level);
            o.extend_from_slice(&f.number.to_le_bytes());
            o.extend_from_slice(&f.size.to_le_bytes());
            o.extend_from_slice(&(f.smallest.len() as u32).to_le_bytes());
            o.extend_from_slice(&f.smallest);
            o.extend_from_slice(&(f.largest.len() as u32).to_le_bytes());
            o.extend_from_slice(&f.largest);
            o.extend_from_slice(&f.min_seq.to_le_bytes());
            o.extend_from_slice(&f.max_seq.to_le_bytes());
        }
        for (level, number) in &e.removed {
            o.push(TAG_REMOVE);
            o.push(*level);
            o.extend_from_slice(&number.to_le_bytes());
        }
        o
    }

    struct R<'a> {
        d: &'a [u8],
        p: usize,
    }
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let end = self.p.checked_add(n)?;
            let s = self.d.get(self.p..end)?;
            self.p = end;
            Some(s)
        }
        fn u8(&mut self) -> Option<u8> {
            Some(self.take(1)?[0])
        }
        fn u32(&mut self) -> Option<u32> {
            let b = self.take(4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn u64(&mut self) -> Option<u64> {
            let mut a = [0u8; 8];
            a.copy_from_slice(self.take(8)?);
            Some(u64::from_le_bytes(a))
        }
        fn bytes(&mut self) -> Option<Vec<u8>> {
            let n = self.u32()? as usize;
            Some(self.take(n)?.to_vec())
        }
    }

    pub(crate) fn decode(d: &[u8], path: &Path, offset: u64) -> Result<VersionEdit> {
        let mut r = R { d, p: 0 };
        let mut e = VersionEdit::default();
        let bad = |what: &str| Error::corruption(path, offset, format!("bad version edit: {what}"));
        while r.p < d.len() {
            let tag = r.u8().ok_or_else(|| bad("truncated"))?;
            match tag {
                TAG_FORMAT => e.format_version = Some(r.u32().ok_or_else(|| bad("truncated"))?),
                TAG_LOG => e.log_number = Some(r.u64().ok_or_else(|| bad("truncated"))?),
                TAG_NEXT_FILE => {
                    e.next_file_number = Some(r.u64().ok_or_else(|| bad("truncated"))?)
                }
                TAG_LAST_SEQ => e.last_seq = Some(r.u64().ok_or_else(|| bad("truncated"))?),
                TAG_ADD => {
                    let f = (|| {
                        Some(FileDesc {
                            level: r.u8()?,
                            number: r.u64()?,
                            size: r.u64()?,
                            smallest: r.bytes()?,
                            largest: r.bytes()?,
                            min_seq: r.u64()?,
                            max_seq: r.u64()?,
                        })
                    })()
                    .ok_or_else(|| bad("truncated file entry"))?;
                    if f.level as usize >= NUM_LEVELS {
                        return Err(bad("level out of range"));
                    }
                    e.added.push(f);
                }
                TAG_REMOVE => {
                    let level = r.u8().ok_or_else(|| bad("truncated"))?;
                    let number = r.u64().ok_or_else(|| bad("truncated"))?;
                    if level as usize >= NUM_LEVELS {
                        return Err(bad("level out of range"));
                    }
                    e.removed.push((level, number));
                }
                t => return Err(bad(&format!("unknown tag {t}"))),
            }
        }
        Ok(e)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The edit layout documented in docs/architecture/storage.md, byte by byte.
        #[test]
        fn golden_layout() {
            let e = VersionEdit {
                format_version: Some(1),
                log_number: Some(2),
                added: vec![FileDesc {
                    level: 1,
                    number: 3,
                    size: 4,
                    smallest: b"a".to_vec(),
                    largest: b"b".to_vec(),
                    min_seq: 5,
                    max_seq: 6,
                }],
                removed: vec![(0, 7)],
                ..VersionEdit::default()
            };
            #[rustfmt::skip]
            let want: &[u8] = &[
                1, 1, 0, 0, 0,                         // format version 1
                2, 2, 0, 0, 0, 0, 0, 0, 0,             // log number 2
                5, 1,                                  // add, level 1
                3, 0, 0, 0, 0, 0, 0, 0,                // number
                4, 0, 0, 0, 0, 0, 0, 0,                // size
                1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b',    // smallest, largest
                5, 0, 0, 0, 0, 0, 0, 0,                // min_seq
                6, 0, 0, 0, 0, 0, 0, 0,                // max_seq
                6, 0, 7, 0, 0, 0, 0, 0, 0, 0,          // remove level 0 file 7
            ];
            assert_eq!(encode(&e), want);
        }

        #[test]
        fn roundtrip() {
            let e = VersionEdit {
                format_version: Some(1),
                log_number: Some(7),
                next_file_number: Some(9),
                last_seq: Some(100),
                added: vec![FileDesc {
                    level: 2,
                    number: 5,
                    size: 1000,
                    smallest: b"a".to_vec(),
                    largest: b"zz".to_vec(),
                    min_seq: 3,
                    max_seq: 99,
                }],
                removed: vec![(1, 4), (0, 2)],
            };
            let b = encode(&e);
            assert_eq!(decode(&b, Path::new("m"), 0).unwrap(), e);
            for cut in 1..b.len() {
                // Every prefix either fails or decodes to something different.
                if let Ok(d) = decode(&b[..cut], Path::new("m"), 0) {
                    assert_ne!(d, e);
                }
            }
        }
    }
}

//! Record framing shared by the write-ahead log and the manifest.
//!
//! ```text
//! record = crc: u32 LE | len: u32 LE | payload: len bytes
//! crc    = mask(crc32c(len bytes ++ payload))        (toondb_core::checksum::mask)
//! ```
//! `len` is never 0. A file is a plain concatenation of records.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use toondb_core::checksum;
use toondb_core::vfs::WritableFile;

/// Size of a record header.
pub(crate) const HEADER: usize = 8;
/// Largest payload accepted when reading (a batch larger than this is refused when writing).
pub(crate) const MAX_RECORD: usize = 1 << 30;

/// Appends one framed record to `out`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    frame_with(out, |o| o.extend_from_slice(payload));
}

/// Appends one framed record whose payload `fill` appends to `out` (no intermediate copy).
pub(crate) fn frame_with(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER]);
    fill(out);
    let len = (out.len() - start - HEADER) as u32;
    out[start + 4..start + HEADER].copy_from_slice(&len.to_le_bytes());
    let crc = checksum::mask(checksum::crc32c(&out[start + 4..]));
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The outcome of parsing a log file.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    /// (offset, payload) of every valid record, in order.
    pub records: Vec<(u64, &'a [u8])>,
    /// Offset where an incomplete or damaged tail starts (nothing valid follows it).
    pub torn_at: Option<u64>,
}

fn u32_at(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether a valid record starts at `pos`. `Some(len)` if so.
fn valid_at(data: &[u8], pos: usize) -> Option<usize> {
    let crc = u32_at(data, pos)?;
    let len = u32_at(data, pos + 4)? as usize;
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let end = pos.checked_add(HEADER)?.checked_add(len)?;
    let payload = data.get(pos + HEADER..end)?;
    let lenb = (len as u32).to_le_bytes();
    (checksum::unmask(crc) == checksum::crc32c_parts(&[&lenb, payload])).then_some(len)
}

/// What a search for a valid record after damaged bytes found.
enum After {
    /// A valid record starts at this offset.
    Valid(usize),
    /// The work budget ran out first.
    BudgetSpent,
    /// No valid record follows.
    Nothing,
}

/// Looks for the first valid record starting after `pos`, trying every offset whose length
/// field is plausible; checksumming is bounded by a work budget (256 MiB of payload).
fn next_valid_after(data: &[u8], pos: usize) -> After {
    let mut budget: usize = 256 << 20;
    let mut p = pos + 1;
    while p + HEADER <= data.len() {
        if let Some(len) = u32_at(data, p + 4) {
            let len = len as usize;
            if len > 0 && len <= data.len() - p - HEADER {
                if budget < len {
                    return After::BudgetSpent;
                }
                budget -= len;
                if valid_at(data, p).is_some() {
                    return After::Valid(p);
                }
            }
        }
        p += 1;
    }
    After::Nothing
}

/// Whether any valid record starts after `pos`; an exhausted work budget answers `true`
/// (assume corruption rather than silently dropping data).
fn any_valid_after(data: &[u8], pos: usize) -> bool {
    !matches!(next_valid_after(data, pos), After::Nothing)
}

/// Parses a whole log file. A damaged record followed by a valid one is corruption; a damaged
/// or incomplete record with nothing valid after it is a torn tail, which is an error unless
/// `tail_may_tear` (only the newest WAL may have been torn by a crash).
pub(crate) fn parse<'a>(data: &'a [u8], path: &Path, tail_may_tear: bool) -> Result<Parsed<'a>> {
    let mut out = Parsed::default();
    let mut pos = 0usize;
    while pos < data.len() {
        if let Some(len) = valid_at(data, pos) {
            out.records
                .push((pos as u64, &data[pos + HEADER..pos + HEADER + len]));
            pos += HEADER + len;
            continue;
        }
        if any_valid_after(data, pos) {
            return Err(Error::corruption(
                path,
                pos as u64,
                "checksum mismatch or bad length followed by valid records",
            ));
        }
        if !tail_may_tear {
            return Err(Error::corruption(
                path,
                pos as u64,
                "damaged or incomplete record",
            ));
        }
        out.torn_at = Some(pos as u64);
        break;
    }
    Ok(out)
}

/// Where and how a log stops being readable (see [`parse_prefix`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cut {
    /// Offset of the first damaged or incomplete record.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file.
    pub bytes: u64,
    /// Valid records found after the damage (they are not replayed).
    pub valid_after: u64,
    /// Whether the damage looks like a torn append (the record is incomplete, or holds a
    /// zero-filled page) rather than damage to a complete record.
    pub torn: bool,
}

/// The records of a log up to the first damaged or incomplete one (point-in-time recovery:
/// the result is always a prefix, never a log with a hole), and where it was cut.
pub(crate) fn parse_prefix(data: &[u8]) -> (Vec<(u64, &[u8])>, Option<Cut>) {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if let Some(len) = valid_at(data, pos) {
            records.push((pos as u64, &data[pos + HEADER..pos + HEADER + len]));
            pos += HEADER + len;
            continue;
        }
        let cut = Cut {
            offset: pos as u64,
            bytes: (data.len() - pos) as u64,
            valid_after: count_valid_after(data, pos),
            torn: looks_torn(data, pos),
        };
        return (records, Some(cut));
    }
    (records, None)
}

/// Whether the damaged record at `pos` looks like an append cut short by a crash: its header
/// or payload runs past the end of the file, or it contains a whole zero-filled 512-byte page
/// (a page the disk never wrote back).
fn looks_torn(data: &[u8], pos: usize) -> bool {
    let Some(len) = u32_at(data, pos + 4) else {
        return true;
    };
    let end = pos
        .saturating_add(HEADER)
        .saturating_add(len as usize)
        .min(data.len());
    if len == 0 || pos + HEADER + len as usize > data.len() {
        return true;
    }
    const PAGE: usize = 512;
    let mut page = pos.div_ceil(PAGE) * PAGE;
    while page + PAGE <= end {
        if data[page..page + PAGE].iter().all(|&b| b == 0) {
            return true;
        }
        page += PAGE;
    }
    false
}

/// Valid records found after the damage at `pos`: the first valid record after it and the
/// records chained behind that one (bounded work, like [`any_valid_after`]).
fn count_valid_after(data: &[u8], pos: usize) -> u64 {
    let After::Valid(mut p) = next_valid_after(data, pos) else {
        return 0;
    };
    let mut n = 0;
    while let Some(l) = valid_at(data, p) {
        n += 1;
        p += HEADER + l;
    }
    n
}

/// Appends framed records to a file.
pub(crate) struct LogWriter {
    pub(crate) file: Box<dyn WritableFile>,
    pub(crate) path: PathBuf,
    pub(crate) number: u64,
}

impl LogWriter {
    pub(crate) fn new(file: Box<dyn WritableFile>, path: PathBuf, number: u64) -> LogWriter {
        LogWriter { file, path, number }
    }
    /// Appends already framed bytes.
    pub(crate) fn append_framed(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .append(bytes)
            .map_err(|e| Error::io(&self.path, e))
    }
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.file.sync().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            frame(p, &mut out);
        }
        out
    }

    #[test]
    fn roundtrip() {
        let data = log(&[b"one", b"two", b"three"]);
        // The header is the masked CRC32C of (len ++ payload), then len.
        let crc = checksum::mask(checksum::crc32c_parts(&[&3u32.to_le_bytes(), b"one"]));
        assert_eq!(&data[0..4], &crc.to_le_bytes());
        assert_eq!(&data[4..8], &3u32.to_le_bytes());
        let p = parse(&data, Path::new("w"), false).unwrap();
        let got: Vec<&[u8]> = p.records.iter().map(|r| r.1).collect();
        assert_eq!(got, vec![&b"one"[..], b"two", b"three"]);
        assert_eq!(p.torn_at, None);
    }

    #[test]
    fn every_truncation_is_a_torn_tail() {
        let data = log(&[b"one", b"two", b"three"]);
        for cut in 0..data.len() {
            let p = parse(&data[..cut], Path::new("w"), true).unwrap();
            let expect_valid = [11usize, 22, 35].iter().filter(|&&e| e <= cut).count();
            assert_eq!(p.records.len(), expect_valid, "cut {cut}");
            let boundary = [0usize, 11, 22, 35].contains(&cut);
            assert_eq!(p.torn_at.is_none(), boundary, "cut {cut}");
            if !boundary {
                assert!(parse(&data[..cut], Path::new("w"), false).is_err());
            }
        }
    }

    #[test]
    fn flip_in_the_middle_is_corruption() {
        let mut data = log(&[b"one", b"two", b"three"]);
        data[13] ^= 1;
        let e = parse(&data, Path::new("w"), true).unwrap_err();
        match e {
            Error::Corruption { offset, .. } => assert_eq!(offset, 11),
            other => panic!("{other}"),
        }
        // A flip in the last record is indistinguishable from a torn tail.
        let mut data = log(&[b"one", b"two", b"three"]);
        let n = data.len();
        data[n - 1] ^= 1;
        let p = parse(&data, Path::new("w"), true).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.torn_at, Some(22));
    }

    #[test]
    fn prefix_parse_stops_at_the_first_damage_and_classifies_it() {
        let data = log(&[b"one", b"two", b"three"]);
        let (r, cut) = parse_prefix(&data);
        assert_eq!(r.len(), 3);
        assert_eq!(cut, None);
        // Incomplete final record: torn.
        let (r, cut) = parse_prefix(&data[..data.len() - 2]);
        assert_eq!(r.len(), 2);
        let cut = cut.unwrap();
        assert_eq!((cut.offset, cut.valid_after, cut.torn), (22, 0, true));
        assert_eq!(cut.bytes, 11);
        // A complete final record with a flipped byte: damage, not a torn append.
        let mut d = data.clone();
        let n = d.len();
        d[n - 1] ^= 4;
        let cut = parse_prefix(&d).1.unwrap();
        assert_eq!((cut.offset, cut.valid_after, cut.torn), (22, 0, false));
        // Damage in the middle: the valid records behind it are counted, not replayed.
        let mut d = data.clone();
        d[13] ^= 1;
        let (r, cut) = parse_prefix(&d);
        assert_eq!(r.len(), 1);
        let cut = cut.unwrap();
        assert_eq!((cut.offset, cut.valid_after), (11, 1));
        // A zero-filled page inside a complete record: a page lost at power loss.
        let big = vec![7u8; 2000];
        let mut d = log(&[b"head", &big]);
        d[1024..1536].fill(0);
        let cut = parse_prefix(&d).1.unwrap();
        assert!(cut.torn);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse(&data, Path::new("w"), true);
            let _ = parse(&data, Path::new("w"), false);
        }

        #[test]
        fn torn_prefix_keeps_whole_records(
            payloads in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64), 1..8),
            cut_frac in 0.0f64..1.0,
        ) {
            let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
            let data = log(&refs);
            let cut = (data.len() as f64 * cut_frac) as usize;
            let p = parse(&data[..cut], Path::new("w"), true).unwrap();
            // Exactly the records that fit entirely survive, unchanged.
            let mut end = 0;
            let mut fit = 0;
            for q in &payloads {
                end += HEADER + q.len();
                if end <= cut {
                    fit += 1;
                }
            }
            proptest::prop_assert_eq!(p.records.len(), fit);
            for (i, (_, r)) in p.records.iter().enumerate() {
                proptest::prop_assert_eq!(*r, payloads[i].as_slice());
            }
        }
    }
}

//! The key space this crate lays over the storage engine, and the hierarchical path codec.
//!
//! ```text
//! 0x00.. 0x01..        SQL catalog and table data (owned by toondb-query)
//! 0x10 <user key>      key-value API
//! 0x11 <path>          path API: each segment escaped (0x00 -> 0x00 0xFF) and ended by 0x00 0x01
//! 0x12 <name>          collection descriptor (JSON)
//! 0x13 <name> 0x00 ..  collection data (see `collection.rs`)
//! 0x14 <ns> ..          graph nodes and edges (see `graph/store.rs`)
//! ```
//!
//! Path segments are encoded so that (a) the encoding of a path is a byte prefix of the
//! encodings of all its descendants and of no other path, and (b) sibling order is byte order
//! of the segment names.

use std::ops::Bound;

use crate::error::{Error, Result};

pub(crate) const KV: u8 = 0x10;
pub(crate) const PATH: u8 = 0x11;
pub(crate) const COLL_META: u8 = 0x12;
pub(crate) const COLL_DATA: u8 = 0x13;
pub(crate) const GRAPH: u8 = 0x14;

/// Separator terminating one encoded path segment.
const SEG_END: [u8; 2] = [0x00, 0x01];

pub(crate) fn kv_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(KV);
    k.extend_from_slice(key);
    k
}

/// The smallest key greater than every key starting with `prefix` (None if none exists).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

/// Maps a user range to an engine range inside the namespace `ns`.
pub(crate) fn ns_bounds(
    ns: u8,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let wrap = |k: &[u8]| {
        let mut v = Vec::with_capacity(k.len() + 1);
        v.push(ns);
        v.extend_from_slice(k);
        v
    };
    let lo = match lower {
        Bound::Included(k) => Bound::Included(wrap(k)),
        Bound::Excluded(k) => Bound::Excluded(wrap(k)),
        Bound::Unbounded => Bound::Included(vec![ns]),
    };
    let hi = match upper {
        Bound::Included(k) => Bound::Included(wrap(k)),
        Bound::Excluded(k) => Bound::Excluded(wrap(k)),
        Bound::Unbounded => Bound::Excluded(vec![ns + 1]),
    };
    (lo, hi)
}

/// Splits a textual path into segments.
///
/// Syntax: segments separated by `/`; inside a segment `\/` is a literal slash and `\\` a
/// literal backslash (any other escape is an error). A leading `/` is ignored and a trailing
/// `/` is allowed (`"users/"` is the path `["users"]`). Empty segments (`a//b`) are refused.
pub fn split_path(path: &str) -> Result<Vec<String>> {
    let body = path.strip_prefix('/').unwrap_or(path);
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars();
    let mut pending = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('/' | '\\')) => {
                    cur.push(e);
                    pending = true;
                }
                other => {
                    return Err(Error::invalid(format!(
                        "bad escape \\{} in path {path:?} (only \\/ and \\\\ are allowed)",
                        other.map(String::from).unwrap_or_default()
                    )))
                }
            },
            '/' => {
                if cur.is_empty() && !pending {
                    return Err(Error::invalid(format!("empty segment in path {path:?}")));
                }
                segs.push(std::mem::take(&mut cur));
                pending = false;
            }
            c => {
                cur.push(c);
                pending = true;
            }
        }
    }
    if pending || !cur.is_empty() {
        segs.push(cur);
    }
    Ok(segs)
}

/// Escapes one segment so it can be embedded in a textual path (`a/b` -> `a\/b`).
pub fn escape_segment(segment: &str) -> String {
    let mut s = String::with_capacity(segment.len());
    for c in segment.chars() {
        if c == '/' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Joins segments into a textual path, escaping each one.
pub fn join_path<S: AsRef<str>>(segments: &[S]) -> String {
    segments
        .iter()
        .map(|s| escape_segment(s.as_ref()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Engine key of a path (namespace byte + encoded segments).
pub(crate) fn path_key(segs: &[String]) -> Vec<u8> {
    let mut k = vec![PATH];
    for s in segs {
        encode_segment(&mut k, s.as_bytes());
    }
    k
}

pub(crate) fn encode_segment(out: &mut Vec<u8>, seg: &[u8]) {
    for &b in seg {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&SEG_END);
}

/// Decodes the first segment of `enc`; returns it and the number of bytes consumed.
pub(crate) fn decode_segment(enc: &[u8]) -> Result<(String, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < enc.len() {
        let b = enc[i];
        if b == 0 {
            match enc.get(i + 1) {
                Some(0xFF) => {
                    out.push(0);
                    i += 2;
                }
                Some(0x01) => {
                    let s = String::from_utf8(out)
                        .map_err(|_| Error::corrupt("path key", i, "segment is not UTF-8"))?;
                    return Ok((s, i + 2));
                }
                _ => return Err(Error::corrupt("path key", i, "bad escape in path segment")),
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    Err(Error::corrupt("path key", i, "unterminated path segment"))
}

/// Decodes all segments of a path key body (without the namespace byte).
pub(crate) fn decode_path(mut enc: &[u8]) -> Result<Vec<String>> {
    let mut segs = Vec::new();
    while !enc.is_empty() {
        let (s, n) = decode_segment(enc)?;
        segs.push(s);
        enc = &enc[n..];
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_escape_roundtrip() {
        assert_eq!(
            split_path("users/alice/email").unwrap(),
            vec!["users", "alice", "email"]
        );
        assert_eq!(split_path("/users/").unwrap(), vec!["users"]);
        assert_eq!(split_path("a\\/b/c\\\\").unwrap(), vec!["a/b", "c\\"]);
        assert!(split_path("a//b").is_err());
        assert!(split_path("a\\x").is_err());
        assert!(split_path("a\\").is_err());
        let segs = ["x/y", "\\", "plain", ""];
        let joined = join_path(&segs[..3]);
        assert_eq!(split_path(&joined).unwrap(), segs[..3].to_vec());
        assert_eq!(split_path("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn path_keys_are_prefix_free_and_ordered() {
        let a = path_key(&["a".into()]);
        let ab = path_key(&["a".into(), "b".into()]);
        let a0 = path_key(&["a\0".into()]);
        let aa = path_key(&["aa".into()]);
        assert!(ab.starts_with(&a));
        assert!(!a0.starts_with(&a));
        assert!(!aa.starts_with(&a));
        assert!(a < a0 && a0 < aa);
        let segs = vec!["x\0y".to_string(), "z".to_string()];
        assert_eq!(decode_path(&path_key(&segs)[1..]).unwrap(), segs);
        assert!(decode_path(&[b'a', 0]).is_err());
        assert!(decode_path(&[b'a', 0, 7]).is_err());
    }

    #[test]
    fn successor() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
    }
}

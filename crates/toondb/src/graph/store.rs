//! Key layout and value encoding of the graph (see `docs/architecture/graph.md`).
//!
//! ```text
//! 0x14 seg(ns) 'n' seg(node)                      tf vf   node version
//! 0x14 seg(ns) 'o' seg(src) seg(type) seg(dst)    tf vf   edge version (out-adjacency)
//! 0x14 seg(ns) 'i' seg(dst) seg(type) seg(src)    tf vf   copy of the same version (in-adjacency)
//! ```
//!
//! `seg(x)` is the path-segment encoding of `keys.rs` (0x00 escaped as 0x00 0xFF, ended by
//! 0x00 0x01), so a node's or an edge group's key is a byte prefix of exactly its versions'
//! keys. `tf` (transaction time the version was recorded) and `vf` (start of its valid time)
//! are order-preserving 8-byte encodings of `i64` microseconds.
//!
//! Value: `[1] vf vt tf tt` (4 x i64 big-endian, sign bit flipped; [`OPEN`] = open end),
//! then for nodes `u32 label length, label`, then the properties as JSON text.

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::keys;

/// Open end of an interval (`valid_to` / `tx_to` of a version that has not ended).
pub const OPEN: i64 = i64::MAX;

pub(crate) const TAG_NODE: u8 = b'n';
pub(crate) const TAG_OUT: u8 = b'o';
pub(crate) const TAG_IN: u8 = b'i';

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 32;

pub(crate) fn enc_time(out: &mut Vec<u8>, t: i64) {
    out.extend_from_slice(&((t as u64) ^ (1 << 63)).to_be_bytes());
}

fn dec_time(b: &[u8]) -> Option<i64> {
    let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(a) ^ (1 << 63)) as i64)
}

/// `0x14 seg(ns) tag`.
pub(crate) fn ns_prefix(ns: &str, tag: u8) -> Vec<u8> {
    let mut k = vec![keys::GRAPH];
    keys::encode_segment(&mut k, ns.as_bytes());
    k.push(tag);
    k
}

/// Prefix of all versions of a node.
pub(crate) fn node_prefix(ns: &str, id: &str) -> Vec<u8> {
    let mut k = ns_prefix(ns, TAG_NODE);
    keys::encode_segment(&mut k, id.as_bytes());
    k
}

/// Prefix of an adjacency list (`tag` = out or in), optionally narrowed to one edge type and
/// one other endpoint.
pub(crate) fn adj_prefix(
    ns: &str,
    tag: u8,
    node: &str,
    edge_type: Option<&str>,
    other: Option<&str>,
) -> Vec<u8> {
    let mut k = ns_prefix(ns, tag);
    keys::encode_segment(&mut k, node.as_bytes());
    if let Some(t) = edge_type {
        keys::encode_segment(&mut k, t.as_bytes());
        if let Some(o) = other {
            keys::encode_segment(&mut k, o.as_bytes());
        }
    }
    k
}

/// A version key: `prefix tf vf`.
pub(crate) fn version_key(prefix: &[u8], tf: i64, vf: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 16);
    k.extend_from_slice(prefix);
    enc_time(&mut k, tf);
    enc_time(&mut k, vf);
    k
}

/// The time intervals of one stored version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub vf: i64,
    pub vt: i64,
    pub tf: i64,
    pub tt: i64,
}

impl Header {
    pub(crate) fn decode(v: &[u8]) -> Result<Header> {
        if v.len() < HEADER || v[0] != FORMAT {
            return Err(Error::corrupt(
                "graph version",
                0,
                "bad header (short value or unknown format byte)",
            ));
        }
        let t = |i: usize| dec_time(&v[1 + 8 * i..]).unwrap_or(0);
        Ok(Header {
            vf: t(0),
            vt: t(1),
            tf: t(2),
            tt: t(3),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(FORMAT);
        enc_time(out, self.vf);
        enc_time(out, self.vt);
        enc_time(out, self.tf);
        enc_time(out, self.tt);
    }

    pub(crate) fn current(&self) -> bool {
        self.tt == OPEN
    }
}

/// Replaces the header of an encoded version, keeping its payload.
pub(crate) fn with_header(v: &[u8], h: Header) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    h.encode(&mut out);
    out.extend_from_slice(v.get(HEADER..).unwrap_or_default());
    out
}

/// The payload (after the header) of an encoded version.
pub(crate) fn payload(v: &[u8]) -> &[u8] {
    v.get(HEADER..).unwrap_or_default()
}

pub(crate) fn encode_node(h: Header, label: &str, props: &Map<String, Json>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + 4 + label.len() + 32);
    h.encode(&mut out);
    out.extend_from_slice(&(label.len() as u32).to_be_bytes());
    out.extend_from_slice(label.as_bytes());
    // Serialising a JSON map to a Vec cannot fail.
    out.extend_from_slice(serde_json::to_string(props).unwrap_or_default().as_bytes());
    out
}

pub(crate) fn encode_edge(h: Header, props: &Map<String, Json>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + 32);
    h.encode(&mut out);
    out.extend_from_slice(serde_json::to_string(props).unwrap_or_default().as_bytes());
    out
}

fn props_of(b: &[u8], what: &str) -> Result<Map<String, Json>> {
    if b.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(b) {
        Ok(Json::Object(m)) => Ok(m),
        _ => Err(Error::corrupt(
            what,
            HEADER,
            "properties are not a JSON object",
        )),
    }
}

/// `(label, props)` of a node version.
pub(crate) fn decode_node(v: &[u8]) -> Result<(String, Map<String, Json>)> {
    let p = payload(v);
    let n = p
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .ok_or_else(|| Error::corrupt("graph node", HEADER, "missing label length"))?;
    let label = p
        .get(4..4 + n)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| Error::corrupt("graph node", HEADER + 4, "bad label"))?;
    Ok((label.to_string(), props_of(&p[4 + n..], "graph node")?))
}

/// The properties of an edge version.
pub(crate) fn decode_edge(v: &[u8]) -> Result<Map<String, Json>> {
    props_of(payload(v), "graph edge")
}

/// Splits the rest of an adjacency key after `prefix seg(node)`: `(type, other, tf, vf)`.
pub(crate) fn split_adj(rest: &[u8]) -> Result<(String, String, i64, i64)> {
    let (ty, n1) = keys::decode_segment(rest)?;
    let (other, n2) = keys::decode_segment(&rest[n1..])?;
    let t = &rest[n1 + n2..];
    match (dec_time(t), t.get(8..).and_then(dec_time)) {
        (Some(tf), Some(vf)) if t.len() == 16 => Ok((ty, other, tf, vf)),
        _ => Err(Error::corrupt(
            "graph edge key",
            n1 + n2,
            "bad version suffix",
        )),
    }
}

/// `(tf, vf)` from the 16-byte suffix of a version key.
pub(crate) fn split_version(rest: &[u8]) -> Result<(i64, i64)> {
    match (dec_time(rest), rest.get(8..).and_then(dec_time)) {
        (Some(tf), Some(vf)) if rest.len() == 16 => Ok((tf, vf)),
        _ => Err(Error::corrupt("graph node key", 0, "bad version suffix")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_like_integers() {
        let ts = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000_000, OPEN];
        let enc: Vec<Vec<u8>> = ts
            .iter()
            .map(|&t| {
                let mut v = Vec::new();
                enc_time(&mut v, t);
                v
            })
            .collect();
        for w in enc.windows(2) {
            assert!(w[0] < w[1]);
        }
        for (t, e) in ts.iter().zip(&enc) {
            assert_eq!(dec_time(e), Some(*t));
        }
    }

    #[test]
    fn node_roundtrip_and_corruption() {
        let h = Header {
            vf: 1,
            vt: OPEN,
            tf: 3,
            tt: OPEN,
        };
        let mut m = Map::new();
        m.insert("a".into(), Json::from(1));
        let v = encode_node(h, "person", &m);
        assert_eq!(Header::decode(&v).unwrap(), h);
        assert_eq!(decode_node(&v).unwrap(), ("person".into(), m.clone()));
        let h2 = Header { tt: 9, ..h };
        assert_eq!(Header::decode(&with_header(&v, h2)).unwrap(), h2);
        assert!(Header::decode(&v[..10]).is_err());
        let mut bad = v.clone();
        bad[HEADER + 3] = 200;
        assert!(decode_node(&bad).is_err());
    }

    #[test]
    fn adjacency_keys_are_prefix_free() {
        let a = adj_prefix("ns", TAG_OUT, "a", None, None);
        let ab = adj_prefix("ns", TAG_OUT, "ab", None, None);
        assert!(!ab.starts_with(&a));
        let k = version_key(
            &adj_prefix("ns", TAG_OUT, "a", Some("knows"), Some("b")),
            5,
            7,
        );
        assert!(k.starts_with(&a));
        assert!(k.starts_with(&adj_prefix("ns", TAG_OUT, "a", Some("knows"), None)));
        assert!(!k.starts_with(&adj_prefix("ns", TAG_OUT, "a", Some("know"), None)));
        assert_eq!(
            split_adj(&k[a.len()..]).unwrap(),
            ("knows".into(), "b".into(), 5, 7)
        );
        assert!(split_adj(&k[a.len()..k.len() - 1]).is_err());
    }
}

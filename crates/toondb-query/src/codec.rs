//! Order-preserving ("memcomparable") key encoding and the row value format.
//!
//! Key encoding of one value (bytewise order == [`Value::total_cmp`] order):
//! - NULL: `0x01`
//! - INTEGER / REAL: `0x02`, 8 bytes of the value as an order-preserving f64, then 8 bytes of
//!   the value as an order-preserving i64 (the integer itself, or the real truncated and
//!   saturated). Integers and reals that are equal encode identically; large integers that
//!   share an f64 approximation are ordered exactly by the second part.
//! - TEXT: `0x03`, the bytes with `0x00` escaped as `0x00 0xFF`, terminated by `0x00 0x00`.
//! - BLOB: `0x04`, escaped and terminated like TEXT.
//!
//! Keyspace layout (see docs/architecture/query.md):
//! - `0x00 ...`: catalog (reserved prefix, see [`CATALOG_PREFIX`]).
//! - `0x01 | table_id u32 BE | 0x01 | enc(rowid)`: table rows.
//! - `0x01 | table_id u32 BE | 0x02 | index_id u32 BE | enc(col)... | enc(rowid)`: index entries;
//!   the entry's value is the row key suffix `enc(rowid)`.

use std::ops::Bound;

use crate::error::{Error, Result};
use crate::value::{real_to_i64_saturating, Value};

/// Prefix reserved for the SQL catalog.
pub const CATALOG_PREFIX: &[u8] = &[0x00];
const DATA_PREFIX: u8 = 0x01;
const TAG_NULL: u8 = 0x01;
const TAG_NUM: u8 = 0x02;
const TAG_TEXT: u8 = 0x03;
const TAG_BLOB: u8 = 0x04;

fn f64_sortable(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f }; // -0.0 == 0.0
    let bits = f.to_bits();
    let flipped = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    flipped.to_be_bytes()
}

fn i64_sortable(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends the order-preserving encoding of `v` to `out`.
pub fn encode_key_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Integer(i) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_sortable(*i as f64));
            out.extend_from_slice(&i64_sortable(*i));
        }
        Value::Real(r) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_sortable(*r));
            out.extend_from_slice(&i64_sortable(real_to_i64_saturating(*r)));
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            escape_into(out, s.as_bytes());
        }
        Value::Blob(b) => {
            out.push(TAG_BLOB);
            escape_into(out, b);
        }
    }
}

/// Encodes a tuple of values (concatenation keeps lexicographic tuple order).
pub fn encode_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 17);
    for v in values {
        encode_key_value(&mut out, v);
    }
    out
}

/// The smallest byte string greater than every string that starts with `prefix`
/// (None when no such string exists, i.e. prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

/// The exclusive upper bound of all keys that start with `prefix` (unbounded when no such
/// bound exists).
pub fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    match prefix_successor(prefix) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    }
}

/// Prefix of all row keys of a table.
pub fn table_rows_prefix(table_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(6);
    k.push(DATA_PREFIX);
    k.extend_from_slice(&table_id.to_be_bytes());
    k.push(0x01);
    k
}

/// Prefix of everything (rows and indexes) stored for a table.
pub fn table_prefix(table_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(5);
    k.push(DATA_PREFIX);
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// Row key for `rowid`.
pub fn row_key(table_id: u32, rowid: i64) -> Vec<u8> {
    let mut k = table_rows_prefix(table_id);
    encode_key_value(&mut k, &Value::Integer(rowid));
    k
}

/// Decodes the rowid from the tail of a row key or from an index entry's value.
pub fn decode_rowid_suffix(bytes: &[u8]) -> Result<i64> {
    if bytes.len() < 17 || bytes[bytes.len() - 17] != TAG_NUM {
        return Err(Error::Corruption {
            what: "row key",
            key: bytes.to_vec(),
            detail: "missing rowid suffix".into(),
        });
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[bytes.len() - 8..]);
    Ok((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

/// Encoded rowid (the value stored in index entries).
pub fn rowid_suffix(rowid: i64) -> Vec<u8> {
    encode_key(&[Value::Integer(rowid)])
}

/// Prefix of all entries of one index.
pub fn index_prefix(table_id: u32, index_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.push(DATA_PREFIX);
    k.extend_from_slice(&table_id.to_be_bytes());
    k.push(0x02);
    k.extend_from_slice(&index_id.to_be_bytes());
    k
}

/// Prefix of the index entries whose leading columns equal `cols`.
pub fn index_key_prefix(table_id: u32, index_id: u32, cols: &[Value]) -> Vec<u8> {
    let mut k = index_prefix(table_id, index_id);
    for v in cols {
        encode_key_value(&mut k, v);
    }
    k
}

/// Full index entry key: prefix, encoded column values, encoded rowid.
pub fn index_key(table_id: u32, index_id: u32, cols: &[Value], rowid: i64) -> Vec<u8> {
    let mut k = index_key_prefix(table_id, index_id, cols);
    encode_key_value(&mut k, &Value::Integer(rowid));
    k
}

// ---------------------------------------------------------------- row values

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, detail: &str) -> Result<T> {
        Err(Error::Corruption {
            what: "row",
            key: Vec::new(),
            detail: format!("{detail} at byte {}", self.pos),
        })
    }
    fn byte(&mut self) -> Result<u8> {
        match self.b.get(self.pos) {
            Some(&x) => {
                self.pos += 1;
                Ok(x)
            }
            None => self.fail("truncated"),
        }
    }
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let x = self.byte()?;
            v |= u64::from(x & 0x7F) << shift;
            if x & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.fail("varint too long")
    }
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.b.len() - self.pos < n {
            return self.fail("truncated");
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
}

/// Encodes a row's values (not order-preserving; compact).
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 9 + 2);
    put_varint(&mut out, values.len() as u64);
    for v in values {
        match v {
            Value::Null => out.push(0),
            Value::Integer(i) => {
                out.push(1);
                // zig-zag varint
                put_varint(&mut out, ((*i << 1) ^ (*i >> 63)) as u64);
            }
            Value::Real(r) => {
                out.push(2);
                out.extend_from_slice(&r.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                out.push(3);
                put_varint(&mut out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Blob(b) => {
                out.push(4);
                put_varint(&mut out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
    out
}

/// Decodes a row produced by [`encode_row`]; never panics, caps allocations by input size.
pub fn decode_row(bytes: &[u8]) -> Result<Vec<Value>> {
    let mut r = Reader { b: bytes, pos: 0 };
    let n = r.varint()?;
    if n > bytes.len() as u64 {
        return r.fail("column count exceeds row size");
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let v = match r.byte()? {
            0 => Value::Null,
            1 => {
                let z = r.varint()?;
                Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => {
                let s = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Value::real(f64::from_le_bytes(a))
            }
            3 => {
                let len = r.varint()?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let s = r.take(len)?;
                match std::str::from_utf8(s) {
                    Ok(s) => Value::Text(s.to_string()),
                    Err(_) => return r.fail("invalid utf-8"),
                }
            }
            4 => {
                let len = r.varint()?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                Value::Blob(r.take(len)?.to_vec())
            }
            _ => return r.fail("unknown value tag"),
        };
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Real(-1e300),
            Value::Integer(-5),
            Value::Real(-4.5),
            Value::Integer(0),
            Value::Real(0.25),
            Value::Integer(1),
            Value::Real(1.5),
            Value::Integer(9_007_199_254_740_993),
            Value::Integer(i64::MAX - 1),
            Value::Integer(i64::MAX),
            Value::Real(1e300),
            Value::Text(String::new()),
            Value::Text("a".into()),
            Value::Text("a\0".into()),
            Value::Text("a\0b".into()),
            Value::Text("ab".into()),
            Value::Blob(vec![]),
            Value::Blob(vec![0, 0]),
            Value::Blob(vec![1]),
        ]
    }

    #[test]
    fn key_order_matches_value_order() {
        let vals = sample();
        for a in &vals {
            for b in &vals {
                let ka = encode_key(std::slice::from_ref(a));
                let kb = encode_key(std::slice::from_ref(b));
                assert_eq!(ka.cmp(&kb), a.total_cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn equal_int_and_real_encode_equal() {
        assert_eq!(
            encode_key(&[Value::Integer(5)]),
            encode_key(&[Value::Real(5.0)])
        );
    }

    #[test]
    fn tuple_order_is_lexicographic() {
        let a = encode_key(&[Value::Text("a".into()), Value::Integer(9)]);
        let b = encode_key(&[Value::Text("ab".into()), Value::Integer(1)]);
        assert!(a < b);
    }

    #[test]
    fn row_round_trip_and_garbage() {
        let vals = sample();
        assert_eq!(decode_row(&encode_row(&vals)).unwrap(), vals);
        for cut in 0..encode_row(&vals).len() {
            let enc = encode_row(&vals);
            let _ = decode_row(&enc[..cut]); // must not panic
        }
        assert!(decode_row(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).is_err());
        assert_eq!(decode_rowid_suffix(&row_key(3, -7)).unwrap(), -7);
    }

    #[test]
    fn successor() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
    }
}

//! Reader of the texmex vector formats used by ANN benchmarks.
//!
//! `.fvecs`: per vector a little-endian `i32` dimension `d` followed by `d` little-endian
//! `f32`. `.ivecs`: the same with `i32` values. Every vector of a file must have the same
//! dimension. The parsers treat their input as untrusted: every length is checked against the
//! bytes actually present before anything is allocated, and every error names the file and
//! byte offset.

use std::path::Path;

use crate::error::{IndexError, Result};

/// Largest accepted dimension.
pub const MAX_DIM: usize = 1 << 16;

/// A parsed file: `rows` vectors of `dim` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct VecSet<T> {
    /// Values per row.
    pub dim: usize,
    /// `rows * dim` values.
    pub data: Vec<T>,
}

impl<T> VecSet<T> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

fn parse<T>(bytes: &[u8], file: &str, conv: fn([u8; 4]) -> T) -> Result<VecSet<T>> {
    let corrupt = |offset: usize, detail: String| IndexError::Corruption {
        file: file.to_string(),
        offset: offset as u64,
        detail,
    };
    if bytes.is_empty() {
        return Err(corrupt(0, "empty file".into()));
    }
    let mut off = 0usize;
    let mut dim: Option<usize> = None;
    // Each value is 4 bytes, so the data can never hold more than len / 4 values.
    let mut data = Vec::with_capacity(bytes.len() / 4);
    while off < bytes.len() {
        let head: [u8; 4] = bytes
            .get(off..off + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| corrupt(off, "truncated dimension header".into()))?;
        let d = i32::from_le_bytes(head);
        if d <= 0 || d as usize > MAX_DIM {
            return Err(corrupt(
                off,
                format!("dimension {d} out of range 1..={MAX_DIM}"),
            ));
        }
        let d = d as usize;
        match dim {
            None => dim = Some(d),
            Some(prev) if prev != d => {
                return Err(corrupt(
                    off,
                    format!("dimension {d} differs from first row's {prev}"),
                ))
            }
            Some(_) => {}
        }
        let body = bytes
            .get(off + 4..off + 4 + d * 4)
            .ok_or_else(|| corrupt(off + 4, format!("truncated row: {d} values announced")))?;
        data.extend(body.chunks_exact(4).map(|c| conv([c[0], c[1], c[2], c[3]])));
        off += 4 + d * 4;
    }
    Ok(VecSet {
        dim: dim.unwrap_or(1),
        data,
    })
}

/// Parses `.fvecs` bytes; `file` names the source in errors.
pub fn parse_fvecs(bytes: &[u8], file: &str) -> Result<VecSet<f32>> {
    parse(bytes, file, f32::from_le_bytes)
}

/// Parses `.ivecs` bytes; `file` names the source in errors.
pub fn parse_ivecs(bytes: &[u8], file: &str) -> Result<VecSet<i32>> {
    parse(bytes, file, i32::from_le_bytes)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and parses an `.fvecs` file.
pub fn read_fvecs(path: &Path) -> Result<VecSet<f32>> {
    parse_fvecs(&read(path)?, &path.display().to_string())
}

/// Reads and parses an `.ivecs` file.
pub fn read_ivecs(path: &Path) -> Result<VecSet<i32>> {
    parse_ivecs(&read(path)?, &path.display().to_string())
}

/// Encodes rows as `.fvecs` bytes (used by tests and tools).
pub fn encode_fvecs(dim: usize, data: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 4 + data.len() / dim.max(1) * 4);
    for row in data.chunks(dim.max(1)) {
        out.extend_from_slice(&(row.len() as i32).to_le_bytes());
        for v in row {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = encode_fvecs(3, &data);
        let v = parse_fvecs(&b, "x").unwrap();
        assert_eq!((v.dim, v.rows()), (3, 2));
        assert_eq!(v.row(1), &[4.0, 5.0, 6.0]);
        let bad = |bytes: &[u8]| match parse_fvecs(bytes, "f") {
            Err(IndexError::Corruption { offset, .. }) => offset,
            other => panic!("expected corruption, got {other:?}"),
        };
        assert_eq!(bad(&[]), 0);
        assert_eq!(bad(&b[..b.len() - 1]), 20);
        assert_eq!(bad(&b[..14]), 4);
        assert_eq!(bad(&(-1i32).to_le_bytes()), 0);
        assert_eq!(bad(&i32::MAX.to_le_bytes()), 0);
        let mut mixed = encode_fvecs(3, &data[..3]);
        mixed.extend(encode_fvecs(2, &data[..2]));
        assert_eq!(bad(&mixed), 16);
        let iv = parse_ivecs(&[1, 0, 0, 0, 7, 0, 0, 0], "i").unwrap();
        assert_eq!(iv.data, vec![7]);
    }
}

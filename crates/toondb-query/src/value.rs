//! SQL values, declared types and SQLite-style type affinity.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// 2^63 as f64 (exact): the first float above i64::MAX.
pub const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// A single SQL value (SQLite storage classes). Booleans are stored as INTEGER 0/1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// 64-bit signed integer.
    Integer(i64),
    /// 64-bit float (never NaN: NaN becomes NULL).
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

/// Declared / reported column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// INTEGER (also INT, BIGINT, ...).
    Integer,
    /// REAL (also FLOAT, DOUBLE, ...).
    Real,
    /// TEXT (also VARCHAR(n), CHAR, CLOB, ...).
    Text,
    /// BLOB.
    Blob,
    /// BOOLEAN (stored as INTEGER 0/1, NUMERIC affinity).
    Boolean,
    /// No declared type / type unknown (expressions whose type depends on the data).
    Null,
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataType::Integer => "INTEGER",
            DataType::Real => "REAL",
            DataType::Text => "TEXT",
            DataType::Blob => "BLOB",
            DataType::Boolean => "BOOLEAN",
            DataType::Null => "NULL",
        })
    }
}

/// SQLite column affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Affinity {
    /// Prefer INTEGER, else REAL, else keep.
    Integer,
    /// Convert numbers to REAL.
    Real,
    /// Like INTEGER but keeps non-integral reals.
    Numeric,
    /// Convert numbers to TEXT.
    Text,
    /// No conversion.
    Blob,
}

impl Affinity {
    /// SQLite's rules (section 3.1 of "Datatypes In SQLite") applied to a declared type name.
    pub fn from_type_name(name: &str) -> Affinity {
        let n = name.to_ascii_uppercase();
        if n.contains("INT") {
            Affinity::Integer
        } else if n.contains("CHAR") || n.contains("CLOB") || n.contains("TEXT") {
            Affinity::Text
        } else if n.contains("BLOB") || n.trim().is_empty() {
            Affinity::Blob
        } else if n.contains("REAL") || n.contains("FLOA") || n.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    /// Converts `v` as SQLite does when storing into a column of this affinity.
    pub fn apply(self, v: Value) -> Value {
        match self {
            Affinity::Blob => v,
            Affinity::Text => match v {
                Value::Integer(_) | Value::Real(_) => Value::Text(v.to_text_lossy()),
                other => other,
            },
            Affinity::Integer | Affinity::Numeric => match v {
                Value::Text(ref s) => match parse_numeric_exact(s) {
                    Some(n) => n,
                    None => v,
                },
                Value::Real(r) => real_to_int_if_exact(r),
                other => other,
            },
            Affinity::Real => match v {
                Value::Integer(i) => Value::Real(i as f64),
                Value::Text(ref s) => match parse_numeric_exact(s) {
                    Some(Value::Integer(i)) => Value::Real(i as f64),
                    Some(n) => n,
                    None => v,
                },
                other => other,
            },
        }
    }

    /// True for INTEGER, REAL and NUMERIC affinity.
    pub fn is_numeric(self) -> bool {
        matches!(self, Affinity::Integer | Affinity::Real | Affinity::Numeric)
    }
}

impl DataType {
    /// Maps a declared SQL type name to the nearest ToonDB type.
    pub fn from_type_name(name: &str) -> DataType {
        let n = name.to_ascii_uppercase();
        if n.starts_with("BOOL") {
            return DataType::Boolean;
        }
        match Affinity::from_type_name(&n) {
            Affinity::Integer => DataType::Integer,
            Affinity::Text => DataType::Text,
            Affinity::Real => DataType::Real,
            Affinity::Blob if n.trim().is_empty() => DataType::Null,
            Affinity::Blob => DataType::Blob,
            Affinity::Numeric => DataType::Null,
        }
    }
}

/// `v` as an integer when it is a real with an exact integer value in range; otherwise `v`.
pub(crate) fn integral(v: Value) -> Value {
    match v {
        Value::Real(r) => real_to_int_if_exact(r),
        v => v,
    }
}

fn real_to_int_if_exact(r: f64) -> Value {
    if r.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&r) {
        Value::Integer(r as i64)
    } else {
        Value::Real(r)
    }
}

/// Parses a whole string (surrounding spaces allowed) as an integer or real literal.
pub fn parse_numeric_exact(s: &str) -> Option<Value> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Integer(i));
    }
    let valid = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(real_to_int_if_exact_keep_real(f, t)),
        _ => None,
    }
}

fn real_to_int_if_exact_keep_real(f: f64, text: &str) -> Value {
    // "1.0" stays REAL-looking in SQLite only for REAL affinity; NUMERIC turns it into 1.
    let _ = text;
    real_to_int_if_exact(f)
}

/// Longest numeric prefix of `s`, as SQLite does for arithmetic on text ("12abc" -> 12, "x" -> 0).
pub fn text_to_number(s: &str) -> Value {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] as char).is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_real = false;
    let mut end = i;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > i + 1 || i > digits_start {
            is_real = true;
            end = j;
            i = j;
        }
    }
    if end == digits_start {
        return Value::Integer(0);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let ds = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > ds {
            is_real = true;
            end = j;
        }
    }
    let t = &s[start..end];
    if !is_real {
        if let Ok(v) = t.parse::<i64>() {
            return Value::Integer(v);
        }
    }
    match t.parse::<f64>() {
        Ok(f) if !f.is_nan() => Value::Real(f),
        _ => Value::Integer(0),
    }
}

impl Value {
    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Builds a REAL, mapping NaN to NULL like SQLite.
    pub fn real(f: f64) -> Value {
        if f.is_nan() {
            Value::Null
        } else {
            Value::Real(f)
        }
    }

    /// SQLite `typeof()` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }

    /// Dynamic type of this value.
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Null => DataType::Null,
            Value::Integer(_) => DataType::Integer,
            Value::Real(_) => DataType::Real,
            Value::Text(_) => DataType::Text,
            Value::Blob(_) => DataType::Blob,
        }
    }

    /// Numeric view for arithmetic: text and blobs are converted like SQLite; NULL stays NULL.
    pub fn to_numeric(&self) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Integer(_) | Value::Real(_) => self.clone(),
            Value::Text(s) => text_to_number(s),
            Value::Blob(b) => text_to_number(&String::from_utf8_lossy(b)),
        }
    }

    /// Integer conversion used by `CAST(x AS INTEGER)` and sqllogictest 'I' columns.
    pub fn to_i64(&self) -> Option<i64> {
        match self.to_numeric() {
            Value::Integer(i) => Some(i),
            Value::Real(r) => Some(real_to_i64_saturating(r)),
            _ => None,
        }
    }

    /// Float conversion (NULL -> None).
    pub fn to_f64(&self) -> Option<f64> {
        match self.to_numeric() {
            Value::Integer(i) => Some(i as f64),
            Value::Real(r) => Some(r),
            _ => None,
        }
    }

    /// Text rendering like SQLite's `CAST(x AS TEXT)` (NULL -> "").
    pub fn to_text_lossy(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) => format_real(*r),
            Value::Text(s) => s.clone(),
            Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }

    /// SQL truth value: NULL -> None, numbers != 0 -> true, text via numeric prefix.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::Null => None,
            Value::Integer(i) => Some(*i != 0),
            Value::Real(r) => Some(*r != 0.0),
            other => match other.to_numeric() {
                Value::Integer(i) => Some(i != 0),
                Value::Real(r) => Some(r != 0.0),
                _ => Some(false),
            },
        }
    }

    fn class_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }

    /// Total order used for ORDER BY, DISTINCT, GROUP BY, MIN/MAX and indexes:
    /// NULL < numbers (compared numerically) < TEXT (bytewise) < BLOB (bytewise).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Real(a), Value::Real(b)) => a.total_cmp(b),
            (Value::Integer(a), Value::Real(b)) => cmp_int_real(*a, *b),
            (Value::Real(a), Value::Integer(b)) => cmp_int_real(*b, *a).reverse(),
            (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Blob(a), Value::Blob(b)) => a.cmp(b),
            _ => self.class_rank().cmp(&other.class_rank()),
        }
    }
}

/// Exact comparison of an integer with a float.
pub fn cmp_int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r >= TWO_POW_63 {
        return Ordering::Less;
    }
    if r < -TWO_POW_63 {
        return Ordering::Greater;
    }
    let t = r.trunc();
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = r - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// Saturating float -> integer conversion (truncates toward zero).
pub fn real_to_i64_saturating(r: f64) -> i64 {
    if r.is_nan() {
        0
    } else if r >= TWO_POW_63 {
        i64::MAX
    } else if r <= -TWO_POW_63 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Formats a REAL like SQLite's `%!.15g` (e.g. 1.0, 0.5, 1.0e+20).
pub fn format_real(r: f64) -> String {
    if r.is_infinite() {
        return if r > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if r == 0.0 {
        return "0.0".into();
    }
    let exp = r.abs().log10().floor() as i32;
    if (-5..15).contains(&exp) {
        let decimals = (14 - exp).clamp(0, 20) as usize;
        let mut s = format!("{:.*}", decimals, r);
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.push('0');
            }
        }
        s
    } else {
        let s = format!("{:.14e}", r);
        // Rust renders 1.5e20 as "1.50000000000000e20"; trim mantissa zeros, sign the exponent.
        let (mant, ex) = s.split_once('e').unwrap_or((&s, "0"));
        let mut m = mant.to_string();
        if m.contains('.') {
            while m.ends_with('0') {
                m.pop();
            }
            if m.ends_with('.') {
                m.push('0');
            }
        }
        let exn: i32 = ex.parse().unwrap_or(0);
        format!("{}e{}{:02}", m, if exn < 0 { '-' } else { '+' }, exn.abs())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(r) => f.write_str(&format_real(*r)),
            Value::Text(s) => f.write_str(s),
            Value::Blob(b) => {
                f.write_str("x'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("'")
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules() {
        assert_eq!(Affinity::from_type_name("VARCHAR(10)"), Affinity::Text);
        assert_eq!(Affinity::from_type_name("BIGINT"), Affinity::Integer);
        assert_eq!(Affinity::from_type_name("DOUBLE"), Affinity::Real);
        assert_eq!(Affinity::from_type_name(""), Affinity::Blob);
        assert_eq!(Affinity::from_type_name("BOOLEAN"), Affinity::Numeric);
        assert_eq!(
            Affinity::Integer.apply(Value::from("12")),
            Value::Integer(12)
        );
        assert_eq!(
            Affinity::Integer.apply(Value::from("1.5")),
            Value::Real(1.5)
        );
        assert_eq!(
            Affinity::Integer.apply(Value::from("x1")),
            Value::from("x1")
        );
        assert_eq!(Affinity::Text.apply(Value::Integer(3)), Value::from("3"));
        assert_eq!(Affinity::Real.apply(Value::Integer(3)), Value::Real(3.0));
    }

    #[test]
    fn ordering_across_classes() {
        let mut v = vec![
            Value::from("a"),
            Value::Real(1.5),
            Value::Null,
            Value::Blob(vec![0]),
            Value::Integer(1),
            Value::Integer(2),
        ];
        v.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Integer(1),
                Value::Real(1.5),
                Value::Integer(2),
                Value::from("a"),
                Value::Blob(vec![0])
            ]
        );
        assert_eq!(cmp_int_real(i64::MAX, 9.3e18), Ordering::Less);
    }

    #[test]
    fn numeric_prefix_and_format() {
        assert_eq!(text_to_number("12abc"), Value::Integer(12));
        assert_eq!(text_to_number(" 1.5e2x"), Value::Real(150.0));
        assert_eq!(text_to_number("abc"), Value::Integer(0));
        assert_eq!(format_real(1.0), "1.0");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(1e20), "1.0e+20");
        assert_eq!(format_real(-2.5), "-2.5");
    }
}

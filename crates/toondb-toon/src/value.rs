//! The JSON data model TOON carries (§2): [`Value`], [`Number`] and [`Map`].

use std::fmt;

use indexmap::IndexMap;

/// An object: string keys in encounter order (§2). Any string is an ordinary key, including
/// `__proto__`, `constructor` and `prototype` (§15): this is a plain map, there is no prototype.
///
/// Note: `==` on maps (and so on [`Value::Object`]) ignores key order, like JSON-model equality
/// after tabular reordering (§2). Use [`Value::ordered_eq`] to also compare key order.
pub type Map = IndexMap<String, Value>;

/// A TOON/JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number.
    Number(Number),
    /// A string.
    String(String),
    /// An ordered array.
    Array(Vec<Value>),
    /// An object with key order kept.
    Object(Map),
}

impl Value {
    /// True for null, booleans, numbers and strings.
    pub fn is_primitive(&self) -> bool {
        !matches!(self, Value::Array(_) | Value::Object(_))
    }

    /// Equality that also requires identical key order in every object.
    pub fn ordered_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.ordered_eq(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.ordered_eq(vb))
            }
            _ => self == other,
        }
    }

    /// Builds a number value from an `f64`; NaN and ±Infinity become `null` (§3).
    pub fn from_f64(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// A finite number, held in a normalised representation so that derived equality is
/// mathematical equality (§2): every integer-valued number that fits `i64` is `Int`
/// (so `1.0`, `1e0` and `1` are equal and `-0` is `0`), integers above `i64::MAX` that fit
/// `u64` are `UInt`, and everything else is a finite, non-integral or out-of-range `f64`.
#[derive(Clone, Copy, PartialEq)]
pub struct Number(N);

#[derive(Clone, Copy, PartialEq, Debug)]
enum N {
    Int(i64),
    UInt(u64),
    Float(f64),
}

// 2^63 and 2^64 as f64 (exact).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

impl Number {
    /// Normalises a finite `f64`; returns `None` for NaN and ±Infinity.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        if f.fract() == 0.0 {
            // Integral values in range convert exactly.
            if (-TWO_63..TWO_63).contains(&f) {
                #[allow(clippy::cast_possible_truncation)]
                return Some(Number(N::Int(f as i64)));
            }
            if (0.0..TWO_64).contains(&f) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                return Some(Number(N::UInt(f as u64)));
            }
        }
        Some(Number(N::Float(f)))
    }

    /// The value as `i64` if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            N::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The value as `u64` if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            N::Int(i) => u64::try_from(i).ok(),
            N::UInt(u) => Some(u),
            N::Float(_) => None,
        }
    }

    /// The value as `f64` (may round large integers).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> f64 {
        match self.0 {
            N::Int(i) => i as f64,
            N::UInt(u) => u as f64,
            N::Float(f) => f,
        }
    }

    /// True when the number is held exactly as an integer.
    pub fn is_integer(&self) -> bool {
        !matches!(self.0, N::Float(_))
    }

    /// Appends the canonical TOON form (§2) to `out`: plain decimal without exponent for
    /// `0` and `1e-6 <= |n| < 1e21`, the shortest digits that round-trip; outside that range
    /// JSON exponent form with lowercase `e` and an explicit exponent sign (`1e-7`, `1e+21`).
    pub fn write_canonical(&self, out: &mut String) {
        match self.0 {
            N::Int(i) => out.push_str(itoa::Buffer::new().format(i)),
            N::UInt(u) => out.push_str(itoa::Buffer::new().format(u)),
            N::Float(f) => write_float(out, f),
        }
    }
}

/// Canonical form of a finite float from its shortest round-trip digits (ryu).
fn write_float(out: &mut String, f: f64) {
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(f);
    // Fast path: ryu writes plain decimal (no exponent) only for moderate magnitudes, all
    // inside the canonical range, and never with redundant zeros for non-integral values.
    if !s.contains('e') && !s.ends_with(".0") {
        out.push_str(s);
        return;
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (mant, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    // digits × 10^(point - digits.len()), i.e. value = 0.DIGITS × 10^point.
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let mut point = i32::try_from(int_part.len()).unwrap_or(0) + exp;
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..lead);
    point -= i32::try_from(lead).unwrap_or(0);
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        out.push('0');
        return;
    }
    if neg {
        out.push('-');
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let a = f.abs();
    let digit = |d: &u8| char::from(*d);
    if (1e-6..1e21).contains(&a) {
        if point <= 0 {
            out.push_str("0.");
            (0..-point).for_each(|_| out.push('0'));
            out.extend(digits.iter().map(digit));
        } else if point >= n {
            out.extend(digits.iter().map(digit));
            (0..point - n).for_each(|_| out.push('0'));
        } else {
            let p = usize::try_from(point).unwrap_or(0);
            out.extend(digits[..p].iter().map(digit));
            out.push('.');
            out.extend(digits[p..].iter().map(digit));
        }
    } else {
        out.push(char::from(digits[0]));
        if digits.len() > 1 {
            out.push('.');
            out.extend(digits[1..].iter().map(digit));
        }
        let e = point - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(itoa::Buffer::new().format(e.unsigned_abs()));
    }
}

impl Number {
    /// Internal: the representation, for tests.
    #[cfg(test)]
    fn is_float(&self) -> bool {
        matches!(self.0, N::Float(_))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_canonical(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number(N::Int(i))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Number(N::Int(i)),
            Err(_) => Number(N::UInt(u)),
        }
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number(N::Int(i64::from(i)))
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Self {
        Number(N::Int(i64::from(u)))
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Number(i.into())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(i.into())
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Number(u.into())
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::from_f64(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::from(i)
                } else if let Some(u) = n.as_u64() {
                    Value::from(u)
                } else {
                    Value::from_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
            }
            other => Value::from(other.clone()),
        }
    }
}

impl From<Number> for serde_json::Number {
    fn from(n: Number) -> Self {
        match n.0 {
            N::Int(i) => i.into(),
            N::UInt(u) => u.into(),
            // A Number is always finite, so from_f64 succeeds; 0 is an unreachable fallback.
            N::Float(f) => serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()),
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n.into()),
            Value::String(s) => serde_json::Value::String(s),
            Value::Array(a) => serde_json::Value::Array(a.into_iter().map(Into::into).collect()),
            Value::Object(o) => {
                serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> Self {
        v.clone().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(f: f64) -> String {
        Number::from_f64(f).unwrap().to_string()
    }

    #[test]
    fn canonical_numbers() {
        assert_eq!(canon(1.0), "1");
        assert_eq!(canon(-0.0), "0");
        assert_eq!(canon(1e6), "1000000");
        assert_eq!(canon(1e-6), "0.000001");
        assert_eq!(canon(1e-7), "1e-7");
        assert_eq!(canon(1e20), "100000000000000000000");
        assert_eq!(canon(1e21), "1e+21");
        assert_eq!(canon(-1.5e300), "-1.5e+300");
        assert_eq!(canon(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(canon(1.5), "1.5");
        assert_eq!(Number::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(canon(123.456), "123.456");
        assert_eq!(canon(0.001), "0.001");
        assert_eq!(canon(1.25e-5), "0.0000125");
        assert_eq!(canon(1e16 + 0.5 * 0.0), "10000000000000000");
        assert_eq!(canon(123456789012345680000.0), "123456789012345680000");
        assert_eq!(canon(9.999e20), "999900000000000000000");
        assert_eq!(canon(-2.5e-9), "-2.5e-9");
        assert_eq!(canon(5e-324), "5e-324");
        assert_eq!(canon(f64::MAX), "1.7976931348623157e+308");
        assert!(Number::from_f64(0.5).unwrap().is_float());
    }

    #[test]
    fn canonical_matches_display_in_range() {
        // Rust's Display prints the shortest round-trip digits without exponent; in the
        // canonical range our ryu-based path must be as short and round-trip.
        let mut x: f64 = 1.234_567_890_123e-6;
        while x < 1e21 {
            for f in [x, -x, x * 1.000_000_7, x / 3.0] {
                if f.fract() != 0.0 && (1e-6..1e21).contains(&f.abs()) {
                    // Both are shortest round-trip digits; they may differ in the last digit
                    // when two shortest candidates exist.
                    let c = canon(f);
                    assert_eq!(c.parse::<f64>().unwrap(), f, "{f:e}");
                    assert_eq!(c.len(), format!("{f}").len(), "{f:e}");
                    assert!(!c.contains('e'));
                }
            }
            x *= 7.3;
        }
    }

    #[test]
    fn normalised_equality() {
        assert_eq!(Value::from(1.0), Value::from(1_i64));
        assert_eq!(Value::from(-0.0), Value::from(0_i64));
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_ne!(Value::from(1.5), Value::from(1_i64));
    }
}

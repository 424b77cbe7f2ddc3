//! SQLite core scalar functions beyond the basic ones in [`crate::expr`]: `char`, `unicode`,
//! `zeroblob`, `randomblob`, `printf` / `format`, `likelihood` / `likely` / `unlikely`, the
//! function forms `like(P, X[, E])` and `glob(P, X)`, and SQLite's math functions (`sqrt`,
//! `pow`, `ln`, `log`, `ceil`, `floor`, `trunc`, `mod`, `pi`, the trigonometric ones, ...),
//! with SQLite 3.40's results.

use crate::error::{rt, Error, Result};
use crate::value::{Affinity, Value};

/// Largest string or blob a function builds (SQLite's default `SQLITE_MAX_LENGTH`).
pub const MAX_LENGTH: i64 = 1_000_000_000;

/// Which core function to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreFunc {
    /// char(X1, X2, ...): the string of these code points.
    Char,
    /// unicode(X): the code point of the first character.
    Unicode,
    /// zeroblob(N)
    ZeroBlob,
    /// randomblob(N)
    RandomBlob,
    /// printf(FORMAT, ...) / format(FORMAT, ...)
    Printf,
    /// likelihood(X, P), likely(X), unlikely(X): X (planner hints).
    Likelihood,
    /// like(P, X [, E]): X LIKE P.
    Like,
    /// glob(P, X): X GLOB P.
    Glob,
    /// A math function of one or two numbers.
    Math(Math),
}

/// SQLite's math functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Math {
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atan2,
    Atanh,
    Ceil,
    Cos,
    Cosh,
    Degrees,
    Exp,
    Floor,
    Ln,
    Log,
    Log10,
    Log2,
    Mod,
    Pi,
    Pow,
    Radians,
    Sin,
    Sinh,
    Sqrt,
    Tan,
    Tanh,
    Trunc,
}

impl CoreFunc {
    /// Looks a core function up by (lower-case) name; returns allowed arg counts.
    pub fn lookup(name: &str) -> Option<(CoreFunc, usize, usize)> {
        use Math as M;
        let m = |f: Math, n: usize| (CoreFunc::Math(f), n, n);
        Some(match name {
            "char" => (CoreFunc::Char, 0, usize::MAX),
            "unicode" => (CoreFunc::Unicode, 1, 1),
            "zeroblob" => (CoreFunc::ZeroBlob, 1, 1),
            "randomblob" => (CoreFunc::RandomBlob, 1, 1),
            "printf" | "format" => (CoreFunc::Printf, 0, usize::MAX),
            "likelihood" => (CoreFunc::Likelihood, 2, 2),
            "likely" | "unlikely" => (CoreFunc::Likelihood, 1, 1),
            "like" => (CoreFunc::Like, 2, 3),
            "glob" => (CoreFunc::Glob, 2, 2),
            "acos" => m(M::Acos, 1),
            "acosh" => m(M::Acosh, 1),
            "asin" => m(M::Asin, 1),
            "asinh" => m(M::Asinh, 1),
            "atan" => m(M::Atan, 1),
            "atan2" => m(M::Atan2, 2),
            "atanh" => m(M::Atanh, 1),
            "ceil" | "ceiling" => m(M::Ceil, 1),
            "cos" => m(M::Cos, 1),
            "cosh" => m(M::Cosh, 1),
            "degrees" => m(M::Degrees, 1),
            "exp" => m(M::Exp, 1),
            "floor" => m(M::Floor, 1),
            "ln" => m(M::Ln, 1),
            "log" => (CoreFunc::Math(M::Log), 1, 2),
            "log10" => m(M::Log10, 1),
            "log2" => m(M::Log2, 1),
            "mod" => m(M::Mod, 2),
            "pi" => m(M::Pi, 0),
            "pow" | "power" => m(M::Pow, 2),
            "radians" => m(M::Radians, 1),
            "sin" => m(M::Sin, 1),
            "sinh" => m(M::Sinh, 1),
            "sqrt" => m(M::Sqrt, 1),
            "tan" => m(M::Tan, 1),
            "tanh" => m(M::Tanh, 1),
            "trunc" => m(M::Trunc, 1),
            _ => return None,
        })
    }

    /// False for functions whose result varies between calls (never constant-folded).
    pub fn is_deterministic(self) -> bool {
        self != CoreFunc::RandomBlob
    }
}

fn too_big() -> Error {
    Error::TooBig("string or blob too big".into())
}

/// Computes a core function over its (already evaluated) arguments.
pub fn call(f: CoreFunc, args: &[Value]) -> Result<Value> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        CoreFunc::Char => Value::Text(
            args.iter()
                .map(|v| {
                    let c = v.to_i64().unwrap_or(0);
                    u32::try_from(c)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}')
                })
                .collect(),
        ),
        CoreFunc::Unicode => match arg(0) {
            Value::Null => Value::Null,
            v => match v.to_text_lossy().chars().next() {
                Some(c) => Value::Integer(i64::from(u32::from(c))),
                None => Value::Null,
            },
        },
        CoreFunc::ZeroBlob => {
            let n = arg(0).to_i64().unwrap_or(0).max(0);
            if n > MAX_LENGTH {
                return Err(too_big());
            }
            Value::Blob(vec![0; n as usize])
        }
        CoreFunc::RandomBlob => {
            let n = arg(0).to_i64().unwrap_or(1).max(1);
            if n > MAX_LENGTH {
                return Err(too_big());
            }
            Value::Blob(random_bytes(n as usize))
        }
        CoreFunc::Printf => match args.first() {
            None | Some(Value::Null) => Value::Null,
            Some(fmt) => Value::Text(printf(&fmt.to_text_lossy(), &args[1..])?),
        },
        CoreFunc::Likelihood => {
            if args.len() == 2 {
                match arg(1).to_f64() {
                    Some(p)
                        if matches!(arg(1), Value::Integer(_) | Value::Real(_))
                            && (0.0..=1.0).contains(&p) => {}
                    _ => return rt(
                        "second argument to likelihood() must be a constant between 0.0 and 1.0",
                    ),
                }
            }
            arg(0)
        }
        CoreFunc::Like | CoreFunc::Glob => {
            let (p, x) = (arg(0), arg(1));
            if p.is_null() || x.is_null() {
                return Ok(Value::Null);
            }
            let esc = match args.get(2) {
                None => None,
                Some(Value::Null) => return Ok(Value::Null),
                Some(e) => {
                    let e = e.to_text_lossy();
                    let mut cs = e.chars();
                    match (cs.next(), cs.next()) {
                        (Some(c), None) => Some(c),
                        _ => return rt("ESCAPE expression must be a single character"),
                    }
                }
            };
            let m = crate::expr::like_match(
                &x.to_text_lossy(),
                &p.to_text_lossy(),
                esc,
                f == CoreFunc::Glob,
            );
            Value::Integer(i64::from(m))
        }
        CoreFunc::Math(m) => math(m, args),
    })
}

fn random_bytes(n: usize) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut out = Vec::with_capacity(n);
    let mut i = 0u64;
    while out.len() < n {
        let mut h = state.build_hasher();
        h.write_u64(i);
        i += 1;
        out.extend_from_slice(&h.finish().to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A math argument: INTEGER or REAL after numeric affinity, else None (the result is NULL).
fn num(v: &Value) -> Option<Value> {
    match Affinity::Numeric.apply(v.clone()) {
        n @ (Value::Integer(_) | Value::Real(_)) => Some(n),
        _ => None,
    }
}

fn math(m: Math, args: &[Value]) -> Value {
    use Math as M;
    if m == M::Pi {
        return Value::Real(std::f64::consts::PI);
    }
    let Some(a) = args.first().and_then(num) else {
        return Value::Null;
    };
    let x = a.to_f64().unwrap_or(0.0);
    let two = || args.get(1).and_then(num).and_then(|b| b.to_f64());
    let r = match m {
        // Integers stay integers; reals round to a real.
        M::Ceil | M::Floor | M::Trunc => {
            if let Value::Integer(_) = a {
                return a;
            }
            match m {
                M::Ceil => x.ceil(),
                M::Floor => x.floor(),
                _ => x.trunc(),
            }
        }
        M::Acos => x.acos(),
        M::Acosh => x.acosh(),
        M::Asin => x.asin(),
        M::Asinh => x.asinh(),
        M::Atan => x.atan(),
        M::Atanh => x.atanh(),
        M::Cos => x.cos(),
        M::Cosh => x.cosh(),
        M::Sin => x.sin(),
        M::Sinh => x.sinh(),
        M::Tan => x.tan(),
        M::Tanh => x.tanh(),
        M::Degrees => x.to_degrees(),
        M::Radians => x.to_radians(),
        M::Exp => x.exp(),
        M::Sqrt => x.sqrt(),
        M::Ln | M::Log10 | M::Log2 | M::Log if args.len() < 2 => {
            if x <= 0.0 {
                return Value::Null;
            }
            match m {
                M::Ln => x.ln(),
                M::Log2 => x.log2(),
                _ => x.log10(),
            }
        }
        M::Log => {
            // log(B, X): the logarithm of X in base B.
            let Some(v) = two() else {
                return Value::Null;
            };
            if x <= 0.0 || v <= 0.0 {
                return Value::Null;
            }
            v.ln() / x.ln()
        }
        M::Atan2 | M::Mod | M::Pow => {
            let Some(y) = two() else {
                return Value::Null;
            };
            match m {
                M::Atan2 => x.atan2(y),
                M::Mod => x % y,
                _ => x.powf(y),
            }
        }
        M::Ln | M::Log10 | M::Log2 | M::Pi => return Value::Null,
    };
    Value::real(r)
}

// ------------------------------------------------------------------ printf

/// One `%` conversion's flags, width and precision.
#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    comma: bool,
    width: usize,
    precision: Option<usize>,
}

/// Most characters one conversion may produce (width and precision are capped by it).
const MAX_FIELD: usize = 1 << 20;

/// SQLite's `printf` (`%d %i %u %f %e %E %g %G %x %X %o %s %z %q %Q %w %c %%`, flags
/// `- + space 0 # ,`, width and precision, `*` for either). Missing arguments count as NULL.
pub fn printf(fmt: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut take = || next.next().cloned().unwrap_or(Value::Null);
    let mut cs = fmt.chars().peekable();
    while let Some(c) = cs.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut s = Spec::default();
        while let Some(&f) = cs.peek() {
            match f {
                '-' => s.left = true,
                '+' => s.plus = true,
                ' ' => s.space = true,
                '0' => s.zero = true,
                '#' => s.alt = true,
                ',' => s.comma = true,
                '!' => {}
                _ => break,
            }
            cs.next();
        }
        if cs.peek() == Some(&'*') {
            cs.next();
            let w = take().to_i64().unwrap_or(0);
            if w < 0 {
                s.left = true;
            }
            s.width = (w.unsigned_abs() as usize).min(MAX_FIELD);
        } else {
            while let Some(d) = cs.peek().and_then(|c| c.to_digit(10)) {
                s.width = (s.width * 10 + d as usize).min(MAX_FIELD);
                cs.next();
            }
        }
        if cs.peek() == Some(&'.') {
            cs.next();
            if cs.peek() == Some(&'*') {
                cs.next();
                let p = take().to_i64().unwrap_or(0);
                s.precision = Some((p.unsigned_abs() as usize).min(MAX_FIELD));
            } else {
                let mut p = 0usize;
                while let Some(d) = cs.peek().and_then(|c| c.to_digit(10)) {
                    p = (p * 10 + d as usize).min(MAX_FIELD);
                    cs.next();
                }
                s.precision = Some(p);
            }
        }
        while cs.peek() == Some(&'l') {
            cs.next();
        }
        let Some(conv) = cs.next() else {
            break;
        };
        let field = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' => int_field(&take(), &s, false),
            'u' => int_field(&take(), &s, true),
            'x' | 'X' | 'o' => radix_field(&take(), &s, conv),
            'f' | 'e' | 'E' | 'g' | 'G' => float_field(&take(), &s, conv),
            's' | 'z' => {
                let v = take();
                let t = v.to_text_lossy();
                (truncate(&t, s.precision), false)
            }
            'q' | 'Q' | 'w' => {
                let v = take();
                let q = if conv == 'w' { '"' } else { '\'' };
                if v.is_null() {
                    let t = if conv == 'Q' { "NULL" } else { "(NULL)" };
                    (truncate(t, s.precision), false)
                } else {
                    let t = truncate(&v.to_text_lossy(), s.precision);
                    let esc = t.replace(q, &format!("{q}{q}"));
                    if conv == 'Q' {
                        (format!("'{esc}'"), false)
                    } else {
                        (esc, false)
                    }
                }
            }
            'c' => {
                let t = take().to_text_lossy();
                // SQLite repeats a NUL for an empty argument.
                let ch = String::from(t.chars().next().unwrap_or('\0'));
                let n = s.precision.unwrap_or(1).max(1);
                (ch.repeat(n.min(MAX_FIELD)), false)
            }
            'n' => continue,
            _ => break,
        };
        let (body, numeric) = field;
        pad(&mut out, &body, &s, numeric);
        if out.len() as i64 > MAX_LENGTH {
            return Err(too_big());
        }
    }
    Ok(out)
}

fn truncate(t: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => t.chars().take(p).collect(),
        None => t.to_string(),
    }
}

/// Appends `body` padded to the width: spaces (left or right), or zeros after the sign for
/// numbers with the `0` flag.
fn pad(out: &mut String, body: &str, s: &Spec, numeric: bool) {
    let n = body.chars().count();
    if n >= s.width {
        out.push_str(body);
        return;
    }
    let fill = s.width - n;
    if s.left {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if s.zero && numeric {
        let sign_len = usize::from(body.starts_with(['-', '+', ' ']));
        out.push_str(&body[..sign_len]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(&body[sign_len..]);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn sign_prefix(neg: bool, s: &Spec) -> &'static str {
    if neg {
        "-"
    } else if s.plus {
        "+"
    } else if s.space {
        " "
    } else {
        ""
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Minimum digits of an integer conversion: the precision, or with the `0` flag the width
/// less the sign (SQLite zero-fills integers this way even when left-justified).
fn zero_precision(s: &Spec, sign_len: usize) -> usize {
    let p = s.precision.unwrap_or(0);
    if s.zero {
        p.max(s.width.saturating_sub(sign_len))
    } else {
        p
    }
}

fn int_arg(v: &Value) -> i64 {
    match v.to_numeric() {
        Value::Integer(i) => i,
        Value::Real(r) => crate::value::real_to_i64_saturating(r),
        _ => 0,
    }
}

fn int_field(v: &Value, s: &Spec, unsigned: bool) -> (String, bool) {
    let i = int_arg(v);
    let (neg, mag) = if unsigned {
        (false, i as u64)
    } else {
        (i < 0, i.unsigned_abs())
    };
    let sign = if unsigned { "" } else { sign_prefix(neg, s) };
    let mut digits = mag.to_string();
    let p = zero_precision(s, sign.len());
    if digits.len() < p {
        digits = "0".repeat(p - digits.len()) + &digits;
    }
    if s.comma {
        digits = group_thousands(&digits);
    }
    (format!("{sign}{digits}"), true)
}

fn radix_field(v: &Value, s: &Spec, conv: char) -> (String, bool) {
    let u = int_arg(v) as u64;
    let mut digits = match conv {
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        _ => format!("{u:o}"),
    };
    let p = zero_precision(s, 0);
    if digits.len() < p {
        digits = "0".repeat(p - digits.len()) + &digits;
    }
    if s.alt && u != 0 {
        digits = match conv {
            'x' => format!("0x{digits}"),
            'X' => format!("0X{digits}"),
            _ => format!("0{digits}"),
        };
    }
    (digits, true)
}

/// A non-negative number as SQLite's printf sees it: its first 16 significant digits
/// (`0.d1d2... × 10^(exp + 1)`, i.e. `d1.d2... × 10^exp`); later digits print as zeros.
struct Dec {
    digits: Vec<u8>,
    exp: i32,
}

impl Dec {
    fn new(a: f64) -> Dec {
        if a == 0.0 {
            return Dec {
                digits: vec![0],
                exp: 0,
            };
        }
        let s = format!("{a:.15e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        Dec {
            digits: mant
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect(),
            exp: exp.parse().unwrap_or(0),
        }
    }

    /// Rounded half-up (on the decimal digits, as SQLite does) to `keep` significant digits;
    /// `keep <= 0` keeps none (the value becomes 0, or 1 unit at the rounding position).
    fn round(&self, keep: i32) -> Dec {
        if keep >= self.digits.len() as i32 {
            return Dec {
                digits: self.digits.clone(),
                exp: self.exp,
            };
        }
        let first_dropped = if keep < 0 {
            0
        } else {
            self.digits[keep as usize]
        };
        let mut d: Vec<u8> = self.digits[..keep.max(0) as usize].to_vec();
        let mut exp = self.exp;
        if first_dropped >= 5 && keep >= 0 {
            let mut i = d.len();
            loop {
                if i == 0 {
                    d.insert(0, 1);
                    exp += 1;
                    break;
                }
                i -= 1;
                if d[i] == 9 {
                    d[i] = 0;
                } else {
                    d[i] += 1;
                    break;
                }
            }
        }
        if d.is_empty() {
            return Dec {
                digits: vec![0],
                exp: 0,
            };
        }
        Dec { digits: d, exp }
    }

    /// The digit at decimal position `pos` (0 = units, 1 = tens, -1 = tenths).
    fn digit(&self, pos: i32) -> char {
        let i = self.exp - pos;
        if i < 0 || i as usize >= self.digits.len() {
            '0'
        } else {
            char::from(b'0' + self.digits[i as usize])
        }
    }
}

/// `a` (not negative) with `p` digits after the point, as SQLite's printf rounds and prints.
fn fixed(a: f64, p: usize, alt: bool) -> String {
    let d = Dec::new(a);
    let d = d.round(d.exp + 1 + p as i32);
    let mut out = String::new();
    for pos in (0..=d.exp.max(0)).rev() {
        out.push(d.digit(pos));
    }
    if p > 0 || alt {
        out.push('.');
    }
    for k in 1..=p as i32 {
        out.push(d.digit(-k));
    }
    out
}

/// `d.ddde+XX` with `p` digits after the point, as SQLite's printf prints it.
fn exp_form(a: f64, p: usize, upper: bool, alt: bool) -> String {
    let d = Dec::new(a).round(p as i32 + 1);
    let exp = if a == 0.0 { 0 } else { d.exp };
    let mut out = String::new();
    out.push(d.digit(d.exp));
    if p > 0 || alt {
        out.push('.');
    }
    for k in 1..=p as i32 {
        out.push(d.digit(d.exp - k));
    }
    let sign = if exp < 0 { '-' } else { '+' };
    out.push(if upper { 'E' } else { 'e' });
    out.push(sign);
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
    out
}

fn strip_fraction_zeros(s: &str) -> String {
    let (num, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let num = if num.contains('.') {
        num.trim_end_matches('0').trim_end_matches('.')
    } else {
        num
    };
    format!("{num}{exp}")
}

fn float_field(v: &Value, s: &Spec, conv: char) -> (String, bool) {
    let x = match v.to_numeric() {
        Value::Integer(i) => i as f64,
        Value::Real(r) => r,
        _ => 0.0,
    };
    let p = s.precision.unwrap_or(6).min(350);
    let neg = x.is_sign_negative() && x != 0.0;
    let a = x.abs();
    let body = if a.is_infinite() {
        "Inf".to_string()
    } else if a.is_nan() {
        "NaN".to_string()
    } else {
        match conv {
            'f' => fixed(a, p, s.alt),
            'e' | 'E' => exp_form(a, p, conv == 'E', s.alt),
            _ => {
                let p = p.max(1);
                // The exponent after rounding to p significant digits.
                let e = if a == 0.0 {
                    0
                } else {
                    Dec::new(a).round(p as i32).exp
                };
                let b = if e < -4 || e >= p as i32 {
                    exp_form(a, p - 1, conv == 'G', s.alt)
                } else {
                    let digits = (p as i32 - 1 - e).max(0) as usize;
                    fixed(a, digits, s.alt)
                };
                if s.alt {
                    b
                } else {
                    strip_fraction_zeros(&b)
                }
            }
        }
    };
    let body = if s.comma {
        let cut = body.find(['.', 'e', 'E']).unwrap_or(body.len());
        format!("{}{}", group_thousands(&body[..cut]), &body[cut..])
    } else {
        body
    };
    (format!("{}{body}", sign_prefix(neg, s)), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(fmt: &str, args: &[Value]) -> String {
        printf(fmt, args).unwrap()
    }

    #[test]
    fn printf_matches_c_conversions() {
        let i = Value::Integer;
        assert_eq!(
            p("%d|%5d|%-5d|%05d", &[i(42), i(42), i(42), i(-42)]),
            "42|   42|42   |-0042"
        );
        assert_eq!(
            p(
                "%,d %+d %x %#X %o",
                &[i(1234567), i(5), i(255), i(255), i(8)]
            ),
            "1,234,567 +5 ff 0XFF 10"
        );
        let r = Value::Real;
        assert_eq!(
            p(
                "%.2f %e %g %g %g",
                &[r(1.23456), r(1234.5), r(0.0001), r(1e20), r(100.0)]
            ),
            "1.23 1.234500e+03 0.0001 1e+20 100"
        );
        assert_eq!(
            p(
                "%s|%.2s|%q|%Q|%Q|%w",
                &[
                    Value::Text("ab".into()),
                    Value::Text("xyz".into()),
                    Value::Text("it's".into()),
                    Value::Text("a'b".into()),
                    Value::Null,
                    Value::Text("q\"".into())
                ]
            ),
            "ab|xy|it''s|'a''b'|NULL|q\"\""
        );
        assert_eq!(p("%5.1f%%", &[r(99.44)]), " 99.4%");
        assert_eq!(p("%d %s", &[]), "0 ");
    }

    #[test]
    fn char_unicode_and_math() {
        let c = call(
            CoreFunc::Char,
            &[Value::Integer(72), Value::Integer(105), Value::Integer(-1)],
        )
        .unwrap();
        assert_eq!(c, Value::Text("Hi\u{FFFD}".into()));
        assert_eq!(
            call(CoreFunc::Unicode, &[Value::Text("é".into())]).unwrap(),
            Value::Integer(233)
        );
        assert_eq!(math(Math::Ceil, &[Value::Integer(3)]), Value::Integer(3));
        assert_eq!(math(Math::Ceil, &[Value::Real(1.2)]), Value::Real(2.0));
        assert_eq!(math(Math::Sqrt, &[Value::Integer(-1)]), Value::Null);
        assert_eq!(math(Math::Ln, &[Value::Text("x".into())]), Value::Null);
        assert_eq!(
            math(Math::Log, &[Value::Integer(2), Value::Integer(8)]),
            Value::Real(3.0)
        );
        assert!(call(CoreFunc::ZeroBlob, &[Value::Integer(MAX_LENGTH + 1)]).is_err());
        assert!(call(CoreFunc::Likelihood, &[Value::Integer(1), Value::Real(2.0)]).is_err());
    }
}

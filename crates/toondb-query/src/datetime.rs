//! SQLite's date and time functions (`date`, `time`, `datetime`, `julianday`, `unixepoch`,
//! `strftime`), computed as SQLite 3.40's date.c computes them: a time value is a Julian day
//! number in milliseconds, parsed from text (`YYYY-MM-DD[ HH:MM[:SS[.SSS]]][Z|±HH:MM]`,
//! `HH:MM[:SS]`, `now`) or a number, then changed by modifiers left to right.
//!
//! Time zones: `localtime` and `utc` are accepted and leave the value unchanged (the engine
//! works in UTC). Any invalid input or modifier makes the function return NULL, as in SQLite.

use crate::value::Value;

/// Milliseconds from the Julian day epoch to the Unix epoch.
const UNIX_EPOCH_JD_MS: i64 = 210_866_760_000_000;
/// Largest valid Julian day in milliseconds (9999-12-31 23:59:59.999).
const MAX_JD_MS: i64 = 464_269_060_799_999;

/// Which date/time function to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFunc {
    /// date(v, mods...) -> 'YYYY-MM-DD'
    Date,
    /// time(v, mods...) -> 'HH:MM:SS'
    Time,
    /// datetime(v, mods...) -> 'YYYY-MM-DD HH:MM:SS'
    DateTime,
    /// julianday(v, mods...) -> REAL
    JulianDay,
    /// unixepoch(v, mods...) -> INTEGER
    UnixEpoch,
    /// strftime(fmt, v, mods...) -> TEXT
    StrFTime,
}

/// SQLite's `DateTime` working state.
#[derive(Debug, Clone, Copy, Default)]
struct Dt {
    jd: i64,
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: f64,
    tz: i64,
    valid_jd: bool,
    valid_ymd: bool,
    valid_hms: bool,
    valid_tz: bool,
    raw_s: bool,
    error: bool,
}

impl Dt {
    fn compute_jd(&mut self) {
        if self.valid_jd {
            return;
        }
        let (mut y, mut m, d) = if self.valid_ymd {
            (self.y, self.mo, self.d)
        } else {
            (2000, 1, 1)
        };
        if !(-4713..=9999).contains(&y) || self.raw_s {
            self.error = true;
            return;
        }
        if m <= 2 {
            y -= 1;
            m += 12;
        }
        let a = y.div_euclid(100);
        let b = 2 - a + a.div_euclid(4);
        let x1 = (36525 * (y + 4716)) / 100;
        let x2 = (306_001 * (m + 1)) / 10000;
        self.jd = (((x1 + x2 + d + b) as f64 - 1524.5) * 86_400_000.0) as i64;
        self.valid_jd = true;
        if self.valid_hms {
            self.jd += self.h * 3_600_000 + self.mi * 60_000 + (self.s * 1000.0) as i64;
            if self.valid_tz {
                self.jd -= self.tz * 60_000;
                self.valid_ymd = false;
                self.valid_hms = false;
                self.valid_tz = false;
            }
        }
    }

    fn compute_ymd(&mut self) {
        if self.valid_ymd {
            return;
        }
        if !self.valid_jd {
            self.y = 2000;
            self.mo = 1;
            self.d = 1;
        } else if !(0..=MAX_JD_MS).contains(&self.jd) {
            self.error = true;
            return;
        } else {
            let z = (self.jd + 43_200_000) / 86_400_000;
            let a = ((z as f64 - 1_867_216.25) / 36_524.25) as i64;
            let a = z + 1 + a - (a / 4);
            let b = a + 1524;
            let c = ((b as f64 - 122.1) / 365.25) as i64;
            let d = (36525 * (c & 32767)) / 100;
            let e = ((b - d) as f64 / 30.6001) as i64;
            let x1 = (30.6001 * e as f64) as i64;
            self.d = b - d - x1;
            self.mo = if e < 14 { e - 1 } else { e - 13 };
            self.y = if self.mo > 2 { c - 4716 } else { c - 4715 };
        }
        self.valid_ymd = true;
    }

    fn compute_hms(&mut self) {
        if self.valid_hms {
            return;
        }
        self.compute_jd();
        let day_ms = (self.jd + 43_200_000).rem_euclid(86_400_000);
        self.s = (day_ms % 60_000) as f64 / 1000.0;
        let day_min = day_ms / 60_000;
        self.mi = day_min % 60;
        self.h = day_min / 60;
        self.raw_s = false;
        self.valid_hms = true;
    }

    fn compute_ymd_hms(&mut self) {
        self.compute_ymd();
        self.compute_hms();
    }

    fn clear_ymd_hms_tz(&mut self) {
        self.valid_ymd = false;
        self.valid_hms = false;
        self.valid_tz = false;
    }

    fn set_raw_number(&mut self, r: f64) {
        self.s = r;
        self.raw_s = true;
        if (0.0..5_373_484.5).contains(&r) {
            self.jd = (r * 86_400_000.0 + 0.5) as i64;
            self.valid_jd = true;
        }
    }
}

/// Reads exactly `n` digits at the start of `s`.
fn digits(s: &[u8], n: usize) -> Option<i64> {
    let d = s.get(..n)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(d.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &s[n..]
}

/// `Z` or `[+-]HH:MM` (then only spaces). Returns false on junk.
fn parse_timezone(s: &[u8], p: &mut Dt) -> bool {
    let s = skip_spaces(s);
    p.tz = 0;
    let sgn = match s.first() {
        None => return true,
        Some(b'-') => -1,
        Some(b'+') => 1,
        Some(b'Z' | b'z') => {
            p.valid_tz = true;
            return skip_spaces(&s[1..]).is_empty();
        }
        Some(_) => return false,
    };
    let s = &s[1..];
    let (Some(h), Some(b':'), Some(m)) = (
        digits(s, 2),
        s.get(2),
        s.get(3..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    if h > 14 || m > 59 {
        return false;
    }
    p.tz = sgn * (m + h * 60);
    p.valid_tz = p.tz != 0;
    skip_spaces(&s[5..]).is_empty()
}

/// `HH:MM[:SS[.FFF]]` then an optional time zone.
fn parse_hms(s: &[u8], p: &mut Dt) -> bool {
    let (Some(h), Some(b':'), Some(m)) = (
        digits(s, 2),
        s.get(2),
        s.get(3..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    if h > 24 || m > 59 {
        return false;
    }
    let mut rest = &s[5..];
    let mut sec = 0.0;
    if rest.first() == Some(&b':') {
        let Some(si) = digits(&rest[1..], 2) else {
            return false;
        };
        if si > 59 {
            return false;
        }
        sec = si as f64;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') && rest.get(1).is_some_and(u8::is_ascii_digit) {
            let mut scale = 1.0;
            let mut frac = 0.0;
            rest = &rest[1..];
            while let Some(c) = rest.first().filter(|c| c.is_ascii_digit()) {
                frac = frac * 10.0 + f64::from(c - b'0');
                scale *= 10.0;
                rest = &rest[1..];
            }
            sec += frac / scale;
        }
    }
    p.valid_jd = false;
    p.raw_s = false;
    p.valid_hms = true;
    p.h = h;
    p.mi = m;
    p.s = sec;
    if !parse_timezone(rest, p) {
        return false;
    }
    true
}

/// `[-]YYYY-MM-DD` then optional spaces/`T` and a time.
fn parse_ymd(s: &[u8], p: &mut Dt) -> bool {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let (Some(y), Some(b'-'), Some(m), Some(b'-'), Some(d)) = (
        digits(s, 4),
        s.get(4),
        s.get(5..).and_then(|r| digits(r, 2)),
        s.get(7),
        s.get(8..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    let mut rest = &s[10..];
    while rest
        .first()
        .is_some_and(|c| c.is_ascii_whitespace() || *c == b'T')
    {
        rest = &rest[1..];
    }
    if !parse_hms(rest, p) {
        if !rest.is_empty() {
            return false;
        }
        p.valid_hms = false;
    }
    p.valid_jd = false;
    p.valid_ymd = true;
    p.y = if neg { -y } else { y };
    p.mo = m;
    p.d = d;
    if p.valid_tz {
        p.compute_jd();
    }
    true
}

/// Parses the leading number of `s` as SQLite's `sqlite3AtoF` would (the whole text must be
/// a number, surrounding spaces allowed).
fn parse_real(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.ends_with('.') && t.len() == 1 {
        return None;
    }
    let ok = t
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !ok {
        return None;
    }
    t.parse::<f64>().ok()
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    d + UNIX_EPOCH_JD_MS
}

fn parse_date_or_time(s: &str, p: &mut Dt) -> bool {
    let b = s.as_bytes();
    if parse_ymd(b, p) {
        return true;
    }
    *p = Dt::default();
    if parse_hms(b, p) {
        return true;
    }
    *p = Dt::default();
    if s.eq_ignore_ascii_case("now") {
        p.jd = now_ms();
        p.valid_jd = true;
        return true;
    }
    if let Some(r) = parse_real(s) {
        p.set_raw_number(r);
        return true;
    }
    false
}

/// Applies one modifier; false when it is not valid.
fn apply_modifier(m: &str, idx: usize, p: &mut Dt) -> bool {
    let z = m.trim_end().to_ascii_lowercase();
    match z.as_str() {
        "localtime" | "utc" => {
            p.compute_jd();
            return !p.error;
        }
        "unixepoch" => {
            if idx > 1 || !p.raw_s {
                return false;
            }
            let r = p.s * 1000.0 + UNIX_EPOCH_JD_MS as f64;
            if !(0.0..=MAX_JD_MS as f64).contains(&r) {
                return false;
            }
            p.clear_ymd_hms_tz();
            p.jd = (r + 0.5) as i64;
            p.valid_jd = true;
            p.raw_s = false;
            return true;
        }
        "julianday" => {
            if idx > 1 || !p.valid_jd || !p.raw_s {
                return false;
            }
            p.raw_s = false;
            return true;
        }
        "auto" => {
            if idx > 1 || !p.raw_s {
                return false;
            }
            if p.valid_jd {
                p.raw_s = false;
                return true;
            }
            let r = p.s * 1000.0 + UNIX_EPOCH_JD_MS as f64;
            if (0.0..=MAX_JD_MS as f64).contains(&r) {
                p.clear_ymd_hms_tz();
                p.jd = (r + 0.5) as i64;
                p.valid_jd = true;
                p.raw_s = false;
                return true;
            }
            return false;
        }
        _ => {}
    }
    if let Some(rest) = z.strip_prefix("weekday ") {
        let Some(r) = parse_real(rest) else {
            return false;
        };
        let n = r as i64;
        if n as f64 != r || !(0.0..7.0).contains(&r) {
            return false;
        }
        p.compute_ymd_hms();
        p.valid_tz = false;
        p.valid_jd = false;
        p.compute_jd();
        let mut zd = ((p.jd + 129_600_000) / 86_400_000) % 7;
        if zd > n {
            zd -= 7;
        }
        p.jd += (n - zd) * 86_400_000;
        p.clear_ymd_hms_tz();
        return true;
    }
    if let Some(rest) = z.strip_prefix("start of ") {
        if !p.valid_jd && !p.valid_ymd && !p.valid_hms {
            return false;
        }
        p.compute_ymd();
        p.valid_hms = true;
        p.h = 0;
        p.mi = 0;
        p.s = 0.0;
        p.raw_s = false;
        p.valid_tz = false;
        p.valid_jd = false;
        match rest {
            "month" => p.d = 1,
            "year" => {
                p.mo = 1;
                p.d = 1;
            }
            "day" => {}
            _ => return false,
        }
        return true;
    }
    let first = z.as_bytes().first().copied();
    if !matches!(first, Some(b'+' | b'-' | b'0'..=b'9')) {
        return false;
    }
    let n = z
        .bytes()
        .position(|c| c == b':' || c.is_ascii_whitespace())
        .unwrap_or(z.len());
    let Some(r) = parse_real(&z[..n]) else {
        return false;
    };
    if z.as_bytes().get(n) == Some(&b':') {
        // (+|-)HH:MM[:SS[.FFF]]
        let body = if first.is_some_and(|c| c.is_ascii_digit()) {
            &z[..]
        } else {
            &z[1..]
        };
        let mut tx = Dt::default();
        if !parse_hms(body.as_bytes(), &mut tx) {
            return false;
        }
        tx.compute_jd();
        tx.jd -= 43_200_000;
        let day = tx.jd / 86_400_000;
        tx.jd -= day * 86_400_000;
        if first == Some(b'-') {
            tx.jd = -tx.jd;
        }
        p.compute_jd();
        p.clear_ymd_hms_tz();
        p.jd += tx.jd;
        return true;
    }
    let unit = z[n..].trim_start();
    if unit.len() > 10 || unit.len() < 3 {
        return false;
    }
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    p.compute_jd();
    let rounder = if r < 0.0 { -0.5 } else { 0.5 };
    let (limit, xform) = match unit {
        "second" => (4.6427e14, 1.0),
        "minute" => (7.7379e12, 60.0),
        "hour" => (1.2897e11, 3600.0),
        "day" => (5_373_485.0, 86400.0),
        "month" => (176_546.0, 2_592_000.0),
        "year" => (14713.0, 31_536_000.0),
        _ => return false,
    };
    if !(r > -limit && r < limit) {
        return false;
    }
    let mut r = r;
    match unit {
        "month" => {
            p.compute_ymd_hms();
            p.mo += r as i64;
            let x = if p.mo > 0 {
                (p.mo - 1) / 12
            } else {
                (p.mo - 12) / 12
            };
            p.y += x;
            p.mo -= x * 12;
            p.valid_jd = false;
            r -= (r as i64) as f64;
        }
        "year" => {
            p.compute_ymd_hms();
            p.y += r as i64;
            p.valid_jd = false;
            r -= (r as i64) as f64;
        }
        _ => {}
    }
    p.compute_jd();
    p.jd += (r * 1000.0 * xform + rounder) as i64;
    p.clear_ymd_hms_tz();
    true
}

/// Parses the time value and applies the modifiers, as SQLite's `isDate`.
fn is_date(args: &[Value]) -> Option<Dt> {
    let mut p = Dt::default();
    match args.first() {
        None => {
            p.jd = now_ms();
            p.valid_jd = true;
        }
        Some(Value::Null) => return None,
        Some(Value::Integer(i)) => p.set_raw_number(*i as f64),
        Some(Value::Real(r)) => p.set_raw_number(*r),
        Some(v) => {
            if !parse_date_or_time(&v.to_text_lossy(), &mut p) {
                return None;
            }
        }
    }
    for (i, m) in args.iter().enumerate().skip(1) {
        if m.is_null() {
            return None;
        }
        if !apply_modifier(&m.to_text_lossy(), i, &mut p) || p.error {
            return None;
        }
    }
    p.compute_jd();
    if p.error || !(0..=MAX_JD_MS).contains(&p.jd) {
        return None;
    }
    Some(p)
}

/// `%.16g` as C's printf renders it.
fn g16(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let e = format!("{x:.15e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..16).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = usize::try_from(15 - exp).unwrap_or(0);
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn strftime(fmt: &str, mut x: Dt) -> Option<String> {
    x.compute_ymd_hms();
    if x.error {
        return None;
    }
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'd' => out.push_str(&format!("{:02}", x.d)),
            'f' => out.push_str(&format!("{:06.3}", x.s.min(59.999))),
            'H' => out.push_str(&format!("{:02}", x.h)),
            c @ ('W' | 'j') => {
                let mut y = x;
                y.valid_jd = false;
                y.mo = 1;
                y.d = 1;
                y.compute_jd();
                let n_day = (x.jd - y.jd + 43_200_000) / 86_400_000;
                if c == 'W' {
                    let wd = ((x.jd + 43_200_000) / 86_400_000) % 7;
                    out.push_str(&format!("{:02}", (n_day + 7 - wd) / 7));
                } else {
                    out.push_str(&format!("{:03}", n_day + 1));
                }
            }
            'J' => out.push_str(&g16(x.jd as f64 / 86_400_000.0)),
            'm' => out.push_str(&format!("{:02}", x.mo)),
            'M' => out.push_str(&format!("{:02}", x.mi)),
            's' => out.push_str(&(x.jd / 1000 - UNIX_EPOCH_JD_MS / 1000).to_string()),
            'S' => out.push_str(&format!("{:02}", x.s as i64)),
            'w' => out.push_str(&(((x.jd + 129_600_000) / 86_400_000) % 7).to_string()),
            'Y' => out.push_str(&format!("{:04}", x.y)),
            '%' => out.push('%'),
            _ => return None,
        }
    }
    Some(out)
}

/// Computes a date/time function over its (already evaluated) arguments.
pub fn call(f: DateFunc, args: &[Value]) -> Value {
    let (fmt, rest) = match f {
        DateFunc::StrFTime => match args.first() {
            None | Some(Value::Null) => return Value::Null,
            Some(v) => (Some(v.to_text_lossy()), args.get(1..).unwrap_or(&[])),
        },
        _ => (None, args),
    };
    let Some(mut x) = is_date(rest) else {
        return Value::Null;
    };
    match f {
        DateFunc::JulianDay => Value::Real(x.jd as f64 / 86_400_000.0),
        DateFunc::UnixEpoch => Value::Integer(x.jd / 1000 - UNIX_EPOCH_JD_MS / 1000),
        DateFunc::Date | DateFunc::Time | DateFunc::DateTime => {
            x.compute_ymd_hms();
            if x.error {
                return Value::Null;
            }
            let date = format!("{:04}-{:02}-{:02}", x.y, x.mo, x.d);
            let time = format!("{:02}:{:02}:{:02}", x.h, x.mi, x.s as i64);
            Value::Text(match f {
                DateFunc::Date => date,
                DateFunc::Time => time,
                _ => format!("{date} {time}"),
            })
        }
        DateFunc::StrFTime => match strftime(fmt.as_deref().unwrap_or(""), x) {
            Some(s) => Value::Text(s),
            None => Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(f: DateFunc, args: &[&str]) -> Value {
        let v: Vec<Value> = args.iter().map(|s| Value::Text((*s).into())).collect();
        call(f, &v)
    }

    #[test]
    fn parses_and_formats() {
        assert_eq!(
            t(DateFunc::DateTime, &["2024-02-29 13:45:10"]),
            Value::Text("2024-02-29 13:45:10".into())
        );
        assert_eq!(
            t(DateFunc::Date, &["2024-01-31", "+1 month"]),
            Value::Text("2024-03-02".into())
        );
        assert_eq!(
            t(DateFunc::Date, &["2024-05-17", "start of month"]),
            Value::Text("2024-05-01".into())
        );
        assert_eq!(
            t(DateFunc::Date, &["2024-05-17", "weekday 0"]),
            Value::Text("2024-05-19".into())
        );
        assert_eq!(t(DateFunc::Date, &["2024-13-01"]), Value::Null);
        assert_eq!(
            t(DateFunc::Date, &["2024-01-01", "+1 fortnight"]),
            Value::Null
        );
        assert_eq!(
            call(
                DateFunc::DateTime,
                &[Value::Integer(0), Value::Text("unixepoch".into())]
            ),
            Value::Text("1970-01-01 00:00:00".into())
        );
        assert_eq!(
            t(DateFunc::UnixEpoch, &["2000-01-01"]),
            Value::Integer(946_684_800)
        );
    }

    #[test]
    fn g16_matches_printf() {
        assert_eq!(g16(2_460_000.5), "2460000.5");
        assert_eq!(g16(2_451_544.5), "2451544.5");
        assert_eq!(g16(0.1), "0.1");
    }
}

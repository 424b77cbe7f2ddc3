//! Statement parameters bound from the command line (`--param`) or the shell
//! (`.parameter set ?1 VALUE`).

use std::collections::BTreeMap;

use toondb_query::Value;

use crate::error::{Error, Result};
use crate::output::plural;
use crate::sqltext;

/// Positional parameters `?1`, `?2`, ... (a bare `?` takes the next position).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<usize, Value>,
}

impl Params {
    /// Parameters `?1..?N` from command-line values, each parsed by [`parse_literal`].
    pub fn from_args(args: &[String]) -> Params {
        Params {
            values: args
                .iter()
                .enumerate()
                .map(|(i, a)| (i + 1, parse_literal(a)))
                .collect(),
        }
    }

    /// Sets `name` (`?N` or `N`, N >= 1) to the literal `value`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let n = index(name)?;
        self.values.insert(n, parse_literal(value));
        Ok(())
    }

    /// Removes `name`; returns whether it was set.
    pub fn unset(&mut self, name: &str) -> Result<bool> {
        Ok(self.values.remove(&index(name)?).is_some())
    }

    /// Removes every parameter.
    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// Number of parameters set.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// (name, SQL literal) of every parameter, in order.
    pub fn list(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(n, v)| (format!("?{n}"), sql_literal(v)))
            .collect()
    }

    /// The values for a statement: as many as it uses. Statements without parameters get
    /// none, so parameters set for one query do not break the next.
    pub fn bind(&self, sql: &str) -> Result<Vec<Value>> {
        let needed = sqltext::param_count(sql);
        let mut out = Vec::with_capacity(needed);
        for i in 1..=needed {
            match self.values.get(&i) {
                Some(v) => out.push(v.clone()),
                None => {
                    return Err(Error::Usage(format!(
                        "the statement uses {needed} {} but ?{i} is not set \
                         (use --param VALUE, or .parameter set ?{i} VALUE in the shell)",
                        plural(needed as u64, "parameter")
                    )))
                }
            }
        }
        Ok(out)
    }
}

fn index(name: &str) -> Result<usize> {
    name.strip_prefix('?')
        .unwrap_or(name)
        .parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| {
            Error::Usage(format!(
                "parameter names are ?1, ?2, ... (got `{name}`; named parameters are not supported)"
            ))
        })
}

/// A parameter value as typed: an integer, a real, `NULL`, a `'quoted string'` (with `''`
/// for a quote), a blob `x'hex'`, or else the text as it is.
pub fn parse_literal(s: &str) -> Value {
    let t = s.trim();
    if t.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::Integer(i);
    }
    if t.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') {
        if let Ok(r) = t.parse::<f64>() {
            if r.is_finite() {
                return Value::Real(r);
            }
        }
    }
    if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
        return Value::Text(t[1..t.len() - 1].replace("''", "'"));
    }
    if let Some(h) = t
        .strip_prefix("x'")
        .or_else(|| t.strip_prefix("X'"))
        .and_then(|h| h.strip_suffix('\''))
    {
        if let Some(b) = unhex(h) {
            return Value::Blob(b);
        }
    }
    Value::Text(s.to_string())
}

fn unhex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `v` as a SQL literal that reads back as the same value.
pub fn sql_literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) if r.is_nan() => "NULL".into(),
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "9e999" } else { "-9e999" }.into(),
        Value::Real(r) => {
            // Shortest round-trip form; always with a `.` or exponent so it stays REAL.
            let s = format!("{r:?}");
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                format!("{s}.0")
            }
        }
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Blob(b) => {
            let mut s = String::from("X'");
            for x in b {
                s.push_str(&format!("{x:02X}"));
            }
            s.push('\'');
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_literal("42"), Value::Integer(42));
        assert_eq!(parse_literal("-2.5"), Value::Real(-2.5));
        assert_eq!(parse_literal("null"), Value::Null);
        assert_eq!(parse_literal("'it''s'"), Value::Text("it's".into()));
        assert_eq!(parse_literal("x'ab01'"), Value::Blob(vec![0xab, 1]));
        assert_eq!(parse_literal("Ada"), Value::Text("Ada".into()));
        assert_eq!(parse_literal("inf"), Value::Text("inf".into()));
        for v in [
            Value::Null,
            Value::Integer(-7),
            Value::Real(10.0),
            Value::Real(0.1),
            Value::Text("a'b".into()),
            Value::Blob(vec![0, 255]),
        ] {
            assert_eq!(parse_literal(&sql_literal(&v)), v, "{v:?}");
        }
    }

    #[test]
    fn binding() {
        let mut p = Params::default();
        p.set("?2", "'b'").unwrap();
        assert!(p.bind("select 1").unwrap().is_empty());
        let e = p.bind("select ?1, ?2").unwrap_err().to_string();
        assert!(e.contains("uses 2 parameters but ?1 is not set"), "{e}");
        p.set("1", "7").unwrap();
        assert_eq!(
            p.bind("select ?, ?").unwrap(),
            vec![Value::Integer(7), Value::Text("b".into())]
        );
        assert_eq!(p.bind("select ?").unwrap(), vec![Value::Integer(7)]);
        assert!(p.set(":a", "1").is_err());
        assert!(p.set("?0", "1").is_err());
        assert_eq!(
            p.list(),
            vec![("?1".into(), "7".into()), ("?2".into(), "'b'".into())]
        );
        let e = Params::default().bind("select ?").unwrap_err().to_string();
        assert!(e.contains("uses 1 parameter but"), "{e}");
    }
}

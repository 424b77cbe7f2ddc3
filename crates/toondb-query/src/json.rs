//! SQLite's JSON functions over TEXT (`json`, `json_valid`, `json_extract`, `->`, `->>`,
//! `json_object`, `json_array`, and the `json_group_array` / `json_group_object` aggregate
//! steps), with SQLite 3.40's results: extracted scalars become SQL values, objects and arrays
//! minified JSON text, a missing path NULL.
//!
//! SQLite marks values produced by JSON functions with a subtype so that nesting them
//! (`json_object('a', json_array(1, 2))`) embeds JSON instead of a string. The binder
//! reproduces that statically: an argument that is itself a JSON-producing function call is
//! flagged in the call's bit mask.

use serde_json::Value as J;

use crate::error::{rt, Result};
use crate::value::Value;

/// Which JSON function to compute. Masks flag arguments (by position, first 64) that hold
/// JSON text to embed as JSON rather than as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFunc {
    /// json(x): validates and minifies.
    Json,
    /// json_valid(x)
    Valid,
    /// json_extract(x, path, ...)
    Extract,
    /// x -> path: the JSON text of the element.
    Arrow,
    /// x ->> path: the SQL value of the element.
    LongArrow,
    /// json_object(label, value, ...)
    Object(u64),
    /// json_array(value, ...)
    Array(u64),
}

impl JsonFunc {
    /// Looks a JSON function up by (lower-case) name; returns allowed arg counts.
    pub fn lookup(name: &str) -> Option<(JsonFunc, usize, usize)> {
        Some(match name {
            "json" => (JsonFunc::Json, 1, 1),
            "json_valid" => (JsonFunc::Valid, 1, 1),
            "json_extract" => (JsonFunc::Extract, 2, usize::MAX),
            "json_object" => (JsonFunc::Object(0), 0, usize::MAX),
            "json_array" => (JsonFunc::Array(0), 0, usize::MAX),
            _ => return None,
        })
    }

    /// True when the result may carry SQLite's JSON subtype (embeds as JSON when nested):
    /// always for json/->/json_object/json_array, for object and array results of
    /// json_extract.
    pub fn returns_json(self) -> bool {
        matches!(
            self,
            JsonFunc::Json
                | JsonFunc::Extract
                | JsonFunc::Arrow
                | JsonFunc::Object(_)
                | JsonFunc::Array(_)
        )
    }

    /// The same function with the JSON-argument mask set.
    pub fn with_mask(self, mask: u64) -> JsonFunc {
        match self {
            JsonFunc::Object(_) => JsonFunc::Object(mask),
            JsonFunc::Array(_) => JsonFunc::Array(mask),
            f => f,
        }
    }
}

pub(crate) fn parse(v: &Value) -> Result<J> {
    match v {
        Value::Blob(_) => rt("JSON cannot hold BLOB values"),
        _ => serde_json::from_str(&v.to_text_lossy()).or_else(|_| rt("malformed JSON")),
    }
}

/// Converts an SQL value to JSON; `is_json` embeds TEXT as parsed JSON.
pub fn to_json(v: &Value, is_json: bool) -> Result<J> {
    Ok(match v {
        Value::Null => J::Null,
        Value::Integer(i) => J::from(*i),
        Value::Real(r) => serde_json::Number::from_f64(*r).map_or(J::Null, J::Number),
        // json_extract marks only its object/array results as JSON; a flagged value that does
        // not parse is a plain string.
        Value::Text(s) if is_json => {
            serde_json::from_str(s).unwrap_or_else(|_| J::String(s.clone()))
        }
        Value::Text(s) => J::String(s.clone()),
        Value::Blob(_) => return rt("JSON cannot hold BLOB values"),
    })
}

/// The SQL value of a JSON element (json_extract / ->>).
pub(crate) fn to_sql(j: &J) -> Value {
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Integer(i64::from(*b)),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => n.as_f64().map_or(Value::Null, Value::Real),
        },
        J::String(s) => Value::Text(s.clone()),
        J::Array(_) | J::Object(_) => Value::Text(j.to_string()),
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `.key` or `."key"`.
    Key(String),
    /// `[N]`.
    Index(usize),
    /// `[#-N]` (`[#]` is `FromEnd(0)`, one past the last element).
    FromEnd(usize),
}

/// Splits a JSON path (`$`, `.key`, `."key"`, `[N]`, `[#-N]`) into steps, each with the byte
/// offset where it starts in `path` (so a caller can cut the text of a parent path).
pub(crate) fn path_steps(path: &str) -> Result<Vec<(Step, usize)>> {
    let bad = || rt(format!("bad JSON path: '{path}'"));
    let Some(mut rest) = path.strip_prefix('$') else {
        return bad();
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        let at = path.len() - rest.len();
        if let Some(r) = rest.strip_prefix('.') {
            let (key, after) = if let Some(q) = r.strip_prefix('"') {
                match q.find('"') {
                    Some(e) => (&q[..e], &q[e + 1..]),
                    None => return bad(),
                }
            } else {
                let e = r.find(['.', '[']).unwrap_or(r.len());
                if e == 0 {
                    return bad();
                }
                (&r[..e], &r[e..])
            };
            rest = after;
            steps.push((Step::Key(key.to_string()), at));
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(e) = r.find(']') else {
                return bad();
            };
            let idx = r[..e].trim();
            rest = &r[e + 1..];
            let step = if let Some(back) = idx.strip_prefix('#') {
                let back = back.trim();
                if back.is_empty() {
                    Step::FromEnd(0)
                } else {
                    match back.strip_prefix('-').map(str::trim).map(str::parse) {
                        Some(Ok(k)) => Step::FromEnd(k),
                        _ => return bad(),
                    }
                }
            } else {
                match idx.parse::<usize>() {
                    Ok(i) => Step::Index(i),
                    Err(_) => return bad(),
                }
            };
            steps.push((step, at));
        } else {
            return bad();
        }
    }
    Ok(steps)
}

/// The array position a step selects in an array of `len` elements (None: out of range).
pub(crate) fn step_index(step: &Step, len: usize) -> Option<usize> {
    match step {
        Step::Index(i) => (*i < len).then_some(*i),
        Step::FromEnd(k) => len.checked_sub(*k).filter(|&i| i < len),
        Step::Key(_) => None,
    }
}

/// Follows a JSON path (`$`, `.key`, `."key"`, `[N]`, `[#-N]`). `Ok(None)` = not found.
fn lookup<'j>(root: &'j J, path: &str) -> Result<Option<&'j J>> {
    let mut cur = root;
    for (step, _) in path_steps(path)? {
        let next = match (&step, cur) {
            (Step::Key(k), J::Object(m)) => m.get(k),
            (Step::Key(_), _) => None,
            (_, J::Array(a)) => step_index(&step, a.len()).and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The right operand of `->` / `->>`: a path, an array index, or an object label.
fn arrow_path(v: &Value) -> String {
    match v {
        Value::Integer(i) => format!("$[{i}]"),
        v => {
            let s = v.to_text_lossy();
            if s.starts_with('$') {
                s
            } else {
                format!("$.\"{s}\"")
            }
        }
    }
}

/// Computes a JSON function over its (already evaluated) arguments.
pub fn call(f: JsonFunc, args: &[Value]) -> Result<Value> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let flagged = |mask: u64, i: usize| i < 64 && mask & (1u64 << i) != 0;
    Ok(match f {
        JsonFunc::Json => match arg(0) {
            Value::Null => Value::Null,
            v => Value::Text(parse(&v)?.to_string()),
        },
        JsonFunc::Valid => match arg(0) {
            // SQLite 3.40 answers 0 for NULL.
            Value::Null => Value::Integer(0),
            Value::Text(s) => Value::Integer(i64::from(serde_json::from_str::<J>(&s).is_ok())),
            Value::Integer(_) | Value::Real(_) => Value::Integer(1),
            Value::Blob(_) => Value::Integer(0),
        },
        JsonFunc::Extract | JsonFunc::Arrow | JsonFunc::LongArrow => {
            let doc = arg(0);
            if doc.is_null() {
                return Ok(Value::Null);
            }
            let root = parse(&doc)?;
            let paths = args.get(1..).unwrap_or(&[]);
            if paths.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            match f {
                JsonFunc::Extract if paths.len() > 1 => {
                    let mut out = Vec::new();
                    for p in paths {
                        out.push(
                            lookup(&root, &p.to_text_lossy())?
                                .cloned()
                                .unwrap_or(J::Null),
                        );
                    }
                    Value::Text(J::Array(out).to_string())
                }
                JsonFunc::Extract => match lookup(&root, &arg(1).to_text_lossy())? {
                    Some(j) => to_sql(j),
                    None => Value::Null,
                },
                JsonFunc::Arrow => match lookup(&root, &arrow_path(&arg(1)))? {
                    Some(j) => Value::Text(j.to_string()),
                    None => Value::Null,
                },
                _ => match lookup(&root, &arrow_path(&arg(1)))? {
                    Some(j) => to_sql(j),
                    None => Value::Null,
                },
            }
        }
        JsonFunc::Object(mask) => {
            if !args.len().is_multiple_of(2) {
                return rt("json_object() requires an even number of arguments");
            }
            let mut m = serde_json::Map::new();
            for (i, pair) in args.chunks(2).enumerate() {
                let Value::Text(k) = &pair[0] else {
                    return rt("json_object() labels must be TEXT");
                };
                m.insert(k.clone(), to_json(&pair[1], flagged(mask, 2 * i + 1))?);
            }
            Value::Text(J::Object(m).to_string())
        }
        JsonFunc::Array(mask) => {
            let items: Result<Vec<J>> = args
                .iter()
                .enumerate()
                .map(|(i, v)| to_json(v, flagged(mask, i)))
                .collect();
            Value::Text(J::Array(items?).to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn extract_and_arrows() {
        let doc = text(r#"{"a":{"b":[1,2.5,"x",null,true]},"c":"d"}"#);
        let ex = |p: &str| call(JsonFunc::Extract, &[doc.clone(), text(p)]).unwrap();
        assert_eq!(ex("$.a.b[0]"), Value::Integer(1));
        assert_eq!(ex("$.a.b[#-1]"), Value::Integer(1));
        assert_eq!(ex("$.a.b[2]"), text("x"));
        assert_eq!(ex("$.a.b[9]"), Value::Null);
        assert_eq!(ex("$.a"), text(r#"{"b":[1,2.5,"x",null,true]}"#));
        assert!(call(JsonFunc::Extract, &[doc.clone(), text("a")]).is_err());
        assert_eq!(
            call(JsonFunc::Arrow, &[doc.clone(), text("c")]).unwrap(),
            text("\"d\"")
        );
        assert_eq!(
            call(JsonFunc::LongArrow, &[doc, text("c")]).unwrap(),
            text("d")
        );
    }

    #[test]
    fn builds_objects_and_arrays() {
        let o = call(
            JsonFunc::Object(0b10),
            &[text("k"), text("[1,2]"), text("s"), text("[1,2]")],
        );
        assert_eq!(o.unwrap(), text(r#"{"k":[1,2],"s":"[1,2]"}"#));
        assert!(call(JsonFunc::Object(0), &[text("k")]).is_err());
        assert!(call(JsonFunc::Json, &[text("{bad")]).is_err());
    }
}

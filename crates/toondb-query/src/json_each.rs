//! The table-valued functions `json_each(json[, path])` and `json_tree(json[, path])` with
//! SQLite 3.40's rows: columns `key, value, type, atom, id, parent, fullkey, path` and the
//! hidden `json, root`. `id` numbers the nodes of SQLite 3.40's parse tree (one per value and
//! one per object label, in document order), so ids and parents match SQLite's.

use serde_json::Value as J;

use crate::error::Result;
use crate::exec::Flow;
use crate::json::{parse, path_steps, step_index, to_sql, Step};
use crate::value::Value;

/// Column names in order; the last [`HIDDEN`] are hidden (not part of `*`).
pub const COLUMNS: [&str; 10] = [
    "key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root",
];

/// Number of hidden columns at the end of [`COLUMNS`].
pub const HIDDEN: usize = 2;

/// Nodes SQLite 3.40's parser makes for `j`: one per value, plus one per object label.
fn node_count(j: &J) -> i64 {
    match j {
        J::Array(a) => 1 + a.iter().map(node_count).sum::<i64>(),
        J::Object(m) => 1 + m.values().map(|v| 1 + node_count(v)).sum::<i64>(),
        _ => 1,
    }
}

fn type_name(j: &J) -> &'static str {
    match j {
        J::Null => "null",
        J::Bool(true) => "true",
        J::Bool(false) => "false",
        J::Number(n) if n.as_i64().is_some() => "integer",
        J::Number(_) => "real",
        J::String(_) => "text",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

/// `.label`, quoted as `."label"` unless it is a letter followed by letters and digits.
fn label_step(k: &str) -> String {
    let mut chars = k.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric());
    if plain {
        format!(".{k}")
    } else {
        format!(".{}", J::String(k.to_string()))
    }
}

/// Hands each row to the consumer as it is produced.
struct Out<'s> {
    sink: &'s mut dyn FnMut(Vec<Value>) -> Result<Flow>,
}

impl Out<'_> {
    fn push(
        &mut self,
        key: Value,
        j: &J,
        id: i64,
        parent: Option<i64>,
        full: &str,
        path: &str,
    ) -> Result<Flow> {
        let (value, atom) = match j {
            J::Array(_) | J::Object(_) => (Value::Text(j.to_string()), Value::Null),
            _ => (to_sql(j), to_sql(j)),
        };
        (self.sink)(vec![
            key,
            value,
            Value::Text(type_name(j).into()),
            atom,
            Value::Integer(id),
            parent.map_or(Value::Null, Value::Integer),
            Value::Text(full.to_string()),
            Value::Text(path.to_string()),
            Value::Null,
            Value::Null,
        ])
    }

    /// The children of container `j` (node `id`, full key `full`), recursively for a tree
    /// (serde_json's parser bounds the nesting, hence this recursion).
    fn children(&mut self, j: &J, id: i64, full: &str, tree: bool) -> Result<Flow> {
        let parent = tree.then_some(id);
        let mut child = id + 1;
        match j {
            J::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    let f = format!("{full}[{i}]");
                    if self.push(Value::Integer(i as i64), e, child, parent, &f, full)?
                        == Flow::Stop
                        || (tree && self.children(e, child, &f, tree)? == Flow::Stop)
                    {
                        return Ok(Flow::Stop);
                    }
                    child += node_count(e);
                }
            }
            J::Object(m) => {
                for (k, v) in m {
                    let f = format!("{full}{}", label_step(k));
                    if self.push(Value::Text(k.clone()), v, child + 1, parent, &f, full)?
                        == Flow::Stop
                        || (tree && self.children(v, child + 1, &f, tree)? == Flow::Stop)
                    {
                        return Ok(Flow::Stop);
                    }
                    child += 1 + node_count(v);
                }
            }
            _ => {}
        }
        Ok(Flow::More)
    }
}

/// All rows of `json_each(json, root)` (or `json_tree`), collected (see [`each`]).
pub fn rows(json: &Value, root: Option<&Value>, tree: bool) -> Result<Vec<Vec<Value>>> {
    let mut out = Vec::new();
    each(json, root, tree, &mut |r| {
        out.push(r);
        Ok(Flow::More)
    })?;
    Ok(out)
}

/// The rows of `json_each(json, root)` (or `json_tree` when `tree`): none for a NULL
/// document or a path that selects nothing; an error for malformed JSON or a bad path.
/// (The columns are those of [`COLUMNS`]; the hidden ones are left NULL.) The rows go to
/// `sink` one at a time, in SQLite's order, until it answers [`Flow::Stop`].
pub fn each(
    json: &Value,
    root: Option<&Value>,
    tree: bool,
    sink: &mut dyn FnMut(Vec<Value>) -> Result<Flow>,
) -> Result<Flow> {
    if json.is_null() || root.is_some_and(Value::is_null) {
        return Ok(Flow::More);
    }
    let doc = parse(json)?;
    let root = root.map_or_else(|| "$".to_string(), Value::to_text_lossy);
    let steps = path_steps(&root)?;
    // Walk to the selected node, keeping its parse-tree id and its label.
    let (mut cur, mut id, mut key) = (&doc, 0i64, Value::Null);
    for (step, _) in &steps {
        let found = match (step, cur) {
            (Step::Key(k), J::Object(m)) => {
                let mut child = id + 1;
                let mut hit = None;
                for (kk, v) in m {
                    if kk == k {
                        hit = Some((v, child + 1, Value::Text(k.clone())));
                        break;
                    }
                    child += 1 + node_count(v);
                }
                hit
            }
            (Step::Index(_) | Step::FromEnd(_), J::Array(a)) => {
                step_index(step, a.len()).and_then(|i| {
                    let before: i64 = a[..i].iter().map(node_count).sum();
                    a.get(i)
                        .map(|e| (e, id + 1 + before, Value::Integer(i as i64)))
                })
            }
            _ => None,
        };
        let Some((n, nid, k)) = found else {
            return Ok(Flow::More);
        };
        (cur, id, key) = (n, nid, k);
    }
    let mut out = Out { sink };
    if tree {
        let parent_path = steps.last().map_or("$", |(_, at)| &root[..*at]);
        if out.push(key, cur, id, None, &root, parent_path)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        out.children(cur, id, &root, true)
    } else if matches!(cur, J::Array(_) | J::Object(_)) {
        out.children(cur, id, &root, false)
    } else {
        out.push(Value::Null, cur, id, None, &root, &root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn ids_and_paths_follow_sqlite() {
        let doc = text(r#"{"a":1,"b":[2,{"q":3}],"c d":{"x":null}}"#);
        let r = rows(&doc, None, true).unwrap();
        let ids: Vec<&Value> = r.iter().map(|r| &r[4]).collect();
        let want: Vec<Value> = [0, 2, 4, 5, 6, 8, 10, 12]
            .into_iter()
            .map(Value::Integer)
            .collect();
        assert_eq!(ids, want.iter().collect::<Vec<_>>());
        assert_eq!(r[7][6], text("$.\"c d\".x"));
        assert_eq!(r[5][5], Value::Integer(6));
        let each = rows(&doc, Some(&text("$.b")), false).unwrap();
        assert_eq!(each.len(), 2);
        assert_eq!(each[1][4], Value::Integer(6));
        assert_eq!(each[1][7], text("$.b"));
        let sub = rows(&doc, Some(&text("$.b")), true).unwrap();
        assert_eq!(sub[0][0], text("b"));
        assert_eq!(sub[0][7], text("$"));
    }

    #[test]
    fn bad_input_is_an_error_or_nothing() {
        assert!(rows(&text("{bad"), None, false).is_err());
        assert!(rows(&text("[1]"), Some(&text("a")), false).is_err());
        assert!(rows(&Value::Blob(vec![1]), None, false).is_err());
        assert!(rows(&Value::Null, None, false).unwrap().is_empty());
        assert!(rows(&text("[1]"), Some(&text("$.x")), false)
            .unwrap()
            .is_empty());
        let one = rows(&text("5"), None, false).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0][0], Value::Null);
    }
}

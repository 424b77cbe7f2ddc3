//! `PRAGMA` statements that describe the schema, answered like SQLite's: `table_info`,
//! `table_xinfo`, `index_list`, `index_info`, `table_list`. sqlparser only accepts numbers and
//! strings as pragma arguments (SQLite also takes a bare name), so the statement is recognised
//! from its text.

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::planner::Column;
use crate::session::QueryResult;
use crate::value::{DataType, Value};

/// `Some((name, argument))` when `sql` is a `PRAGMA` statement: `PRAGMA [schema.]name`,
/// `PRAGMA name(arg)` or `PRAGMA name = arg`. The argument may be a bare name, a quoted name
/// or string, or a number. A `PRAGMA` that does not have this shape is a syntax error.
pub(crate) fn parse(sql: &str) -> Option<Result<(String, Option<String>)>> {
    let t = sql.trim().trim_end_matches(';').trim();
    t.get(..6).filter(|w| w.eq_ignore_ascii_case("pragma"))?;
    if !t[6..].starts_with(char::is_whitespace) {
        return None;
    }
    let body = t[6..].trim_start();
    let bad = || {
        Some(Err(Error::Syntax {
            message: format!("malformed PRAGMA statement: {t}"),
        }))
    };
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(body.len());
    let full = &body[..name_end];
    let name = match full.rsplit_once('.') {
        Some((schema, n)) if schema.eq_ignore_ascii_case("main") => n,
        Some(_) => return bad(),
        None => full,
    };
    if name.is_empty() {
        return bad();
    }
    let after = body[name_end..].trim();
    let arg = if after.is_empty() {
        None
    } else if let Some(inner) = after.strip_prefix('(').and_then(|a| a.strip_suffix(')')) {
        Some(inner.trim())
    } else if let Some(v) = after.strip_prefix('=') {
        Some(v.trim())
    } else {
        return bad();
    };
    let arg = match arg {
        None => None,
        Some(a) => {
            let unquoted = ['\'', '"', '`']
                .iter()
                .find_map(|q| a.strip_prefix(*q).and_then(|x| x.strip_suffix(*q)))
                .or_else(|| a.strip_prefix('[').and_then(|x| x.strip_suffix(']')))
                .unwrap_or(a);
            if unquoted.is_empty() {
                return bad();
            }
            Some(unquoted.to_string())
        }
    };
    Some(Ok((name.to_ascii_lowercase(), arg)))
}

fn col(name: &str, ty: DataType) -> Column {
    Column::planned(name.to_string(), ty, None)
}

fn result(columns: Vec<Column>, rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        columns,
        rows,
        rows_affected: 0,
        last_insert_rowid: None,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn int(i: usize) -> Value {
    Value::Integer(i64::try_from(i).unwrap_or(i64::MAX))
}

fn need_arg<'a>(name: &str, arg: Option<&'a str>) -> Result<&'a str> {
    arg.ok_or_else(|| Error::Semantic(format!("PRAGMA {name} needs a table or index name")))
}

/// Runs a schema pragma against `cat`. A table or index that does not exist gives no rows (as
/// in SQLite); a pragma this engine does not have is an `Unsupported` error naming it.
pub(crate) fn run(cat: &Catalog, name: &str, arg: Option<&str>) -> Result<QueryResult> {
    match name {
        "table_info" | "table_xinfo" => {
            let xinfo = name == "table_xinfo";
            let mut columns = vec![
                col("cid", DataType::Integer),
                col("name", DataType::Text),
                col("type", DataType::Text),
                col("notnull", DataType::Integer),
                col("dflt_value", DataType::Null),
                col("pk", DataType::Integer),
            ];
            if xinfo {
                columns.push(col("hidden", DataType::Integer));
            }
            let t = need_arg(name, arg)?;
            let mut rows = Vec::new();
            if let Some(t) = cat.table(t) {
                let pk = t.primary_key_columns();
                for (i, c) in t.columns.iter().enumerate() {
                    let pk_pos = pk.iter().position(|&p| p == i).map_or(0, |p| p + 1);
                    rows.push(vec![
                        int(i),
                        text(&c.name),
                        text(&c.decl_type),
                        int(usize::from(c.not_null)),
                        c.default.as_deref().map_or(Value::Null, |d| text(dflt_text(d))),
                        int(pk_pos),
                    ]);
                }
            } else if let Some(v) = cat.view(t) {
                for (i, c) in v.columns.iter().enumerate() {
                    rows.push(vec![int(i), text(c), text(""), int(0), Value::Null, int(0)]);
                }
            }
            if xinfo {
                // `hidden`: no hidden or generated columns here.
                for row in &mut rows {
                    row.push(int(0));
                }
            }
            Ok(result(columns, rows))
        }
        "index_list" => {
            let columns = vec![
                col("seq", DataType::Integer),
                col("name", DataType::Text),
                col("unique", DataType::Integer),
                col("origin", DataType::Text),
                col("partial", DataType::Integer),
            ];
            let t = need_arg(name, arg)?;
            let mut rows = Vec::new();
            if let Some(t) = cat.table(t) {
                let pk_index = t.primary_key_index();
                // SQLite lists the newest index first.
                for (seq, ix) in t.indexes.iter().rev().enumerate() {
                    let origin = if Some(ix.id) == pk_index {
                        "pk"
                    } else if ix.auto {
                        "u"
                    } else {
                        "c"
                    };
                    rows.push(vec![
                        int(seq),
                        text(&ix.name),
                        int(usize::from(ix.unique)),
                        text(origin),
                        int(0),
                    ]);
                }
            }
            Ok(result(columns, rows))
        }
        "index_info" => {
            let columns = vec![
                col("seqno", DataType::Integer),
                col("cid", DataType::Integer),
                col("name", DataType::Text),
            ];
            let i = need_arg(name, arg)?;
            let mut rows = Vec::new();
            if let Some((t, ix)) = cat.index(i) {
                for (n, &c) in ix.columns.iter().enumerate() {
                    let cname = t.columns.get(c).map_or(Value::Null, |c| text(&c.name));
                    rows.push(vec![int(n), int(c), cname]);
                }
            }
            Ok(result(columns, rows))
        }
        "table_list" => {
            let columns = vec![
                col("schema", DataType::Text),
                col("name", DataType::Text),
                col("type", DataType::Text),
                col("ncol", DataType::Integer),
                col("wr", DataType::Integer),
                col("strict", DataType::Integer),
            ];
            let tables = cat.tables.values().map(|t| (&t.name, "table", t.columns.len()));
            let views = cat.views.values().map(|v| (&v.name, "view", v.columns.len()));
            let rows = tables
                .chain(views)
                .filter(|(name, ..)| arg.is_none_or(|a| a.eq_ignore_ascii_case(name)))
                .map(|(name, kind, ncol)| {
                    vec![text("main"), text(name), text(kind), int(ncol), int(0), int(0)]
                })
                .collect();
            Ok(result(columns, rows))
        }
        other => Err(Error::Unsupported(format!(
            "PRAGMA {other} (available: table_info, table_xinfo, index_list, index_info, table_list)"
        ))),
    }
}

/// The `dflt_value` SQLite shows: the DEFAULT expression's text, without the parentheses of
/// `DEFAULT (expr)`.
fn dflt_text(d: &str) -> &str {
    match crate::parse::parse_expr(d) {
        Ok(sqlparser::ast::Expr::Nested(_)) => d
            .strip_prefix('(')
            .and_then(|x| x.strip_suffix(')'))
            .unwrap_or(d),
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragma_shapes() {
        let p = |s: &str| parse(s).map(|r| r.ok());
        assert_eq!(
            p("PRAGMA table_info(users)"),
            Some(Some(("table_info".into(), Some("users".into()))))
        );
        assert_eq!(
            p("pragma main.TABLE_INFO('my table');"),
            Some(Some(("table_info".into(), Some("my table".into()))))
        );
        assert_eq!(
            p("PRAGMA index_info = \"ix\""),
            Some(Some(("index_info".into(), Some("ix".into()))))
        );
        assert_eq!(
            p("PRAGMA table_list"),
            Some(Some(("table_list".into(), None)))
        );
        assert_eq!(p("SELECT 1"), None);
        assert_eq!(p("PRAGMAX"), None);
        assert!(matches!(parse("PRAGMA other.table_info(t)"), Some(Err(_))));
        assert!(matches!(parse("PRAGMA table_info(t"), Some(Err(_))));
        assert!(matches!(parse("PRAGMA table_info()"), Some(Err(_))));
        assert!(matches!(parse("PRAGMA (x)"), Some(Err(_))));
    }
}

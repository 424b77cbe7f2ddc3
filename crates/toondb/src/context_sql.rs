//! `CONTEXT` statements: the context builder as text, runnable through
//! [`Database::query`](crate::Database::query) and
//! [`Database::execute_context`](crate::Database::execute_context).
//!
//! A small hand-written front end parses the statement; the SQL inside `( ... )` or
//! `SQL '...'` is handed to the SQL engine (and parsed by it up front, so its syntax errors
//! are reported at parse time with the position of the inner SQL).
//!
//! # Grammar (EBNF)
//!
//! ```text
//! statement = "CONTEXT" [ "SELECT" ] section { "," section } { option } [ ";" ] ;
//! section   = source { modifier } ;
//! source    = "SYSTEM" string
//!           | "TEXT" string
//!           | "HISTORY" "(" message { "," message } ")"
//!           | "SEARCH" name [ string ] [ "VECTOR" vector ] [ "K" integer ] [ "WHERE" filter ]
//!           | "SQL" string
//!           | "(" sql ")"
//!           | "KV" "PREFIX" string [ "LIMIT" integer ]
//!           | "KV" "KEYS" "(" string { "," string } ")"
//!           | "GRAPH" name "FROM" string { graph_opt } ;
//! graph_opt = "DEPTH" integer | "NODES" integer | "DIRECTION" ( "OUT" | "IN" | "BOTH" )
//!           | "TYPES" "(" string { "," string } ")" | "ORDER" ( "BFS" | "DFS" )
//!           | "AS" "OF" ( "VALID" | "TX" ) integer ;
//! message   = ( name | string ) string ;                 (* role, content *)
//! vector    = "[" number { "," number } "]" ;
//! modifier  = "AS" name | "PRIORITY" integer | "MAX" "TOKENS" integer
//!           | "KEEP" ( "FIRST" | "LAST" ) | "WITH" "METADATA" ;
//! option    = "BUDGET" integer | "TOKENIZER" ( "o200k" | "cl100k" ) ;
//! filter    = condition { "AND" condition } ;
//! condition = name ( "=" literal | "IN" "(" literal { "," literal } ")"
//!                  | ( "<" | "<=" | ">" | ">=" ) literal ) ;
//! literal   = string | number | "TRUE" | "FALSE" | "NULL" ;
//! name      = letter { letter | digit | "_" | "." | "-" } | '"' { char } '"' ;
//! string    = "'" { char | "''" } "'" ;
//! sql       = any text with balanced parentheses outside quotes and comments ;
//! ```
//!
//! Keywords are case-insensitive. A `SEARCH` with a string only is a BM25 search, with a
//! vector only a vector search, with both a hybrid search. Default section names: `system`,
//! `text`, `history`, `retrieval`, `rows`, `kv`, `graph`; a second section of the same kind
//! needs `AS`. `GRAPH ns FROM 'id'` packs the neighbourhood of node `id` in graph namespace
//! `ns` (default depth 2, out-edges, at most 1000 nodes; `AS OF VALID t` / `AS OF TX t` in
//! microseconds since the epoch), nearest nodes first.
//!
//! ```
//! use toondb::{context_sql, Database};
//! let db = Database::open_in_memory().unwrap();
//! db.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL)", &[]).unwrap();
//! db.execute("INSERT INTO orders(total) VALUES (9.5), (20)", &[]).unwrap();
//! let rows = db
//!     .query(
//!         "CONTEXT SELECT SYSTEM 'You answer questions about orders.',
//!                 (SELECT id, total FROM orders ORDER BY id) AS orders PRIORITY 20
//!          BUDGET 200 TOKENIZER cl100k",
//!         &[],
//!     )
//!     .unwrap();
//! let text: String = rows[0].get("context").unwrap();
//! assert_eq!(text, "system: You answer questions about orders.\norders[2]{id,total}:\n  1,9.5\n  2,20");
//!
//! let err = context_sql::parse("CONTEXT SYSTEM 'x' BUDGET lots").unwrap_err();
//! assert_eq!(err.to_string(), "syntax error at line 1, column 27: expected an integer, found `lots`");
//! ```

use serde_json::Value as Json;
use toondb_toon::Tokenizer;

use crate::collection::SearchRequest;
use crate::context::{ContextBuilder, Keep, Message, Section, Source};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::graph::{EdgeDirection, Order, Walk, MAX_DEPTH};

/// Longest accepted statement (bytes).
pub const MAX_STATEMENT_BYTES: usize = 1 << 20;

/// A parsed `CONTEXT` statement.
#[derive(Clone, Debug)]
pub struct ContextStatement {
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// `BUDGET n`, if given.
    pub budget: Option<usize>,
    /// `TOKENIZER t`, if given.
    pub tokenizer: Option<Tokenizer>,
}

impl ContextStatement {
    /// A [`ContextBuilder`] over `db` with this statement's sections and options.
    pub fn into_builder(self, db: &Database) -> Result<ContextBuilder> {
        let mut b = db.context();
        if let Some(n) = self.budget {
            b = b.budget(n);
        }
        if let Some(t) = self.tokenizer {
            b = b.tokenizer(t);
        }
        for s in self.sections {
            b = b.section(s);
        }
        Ok(b)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Punct(&'static str),
    End,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Quoted(w) => format!("`\"{w}\"`"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Num(n) => format!("`{n}`"),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::End => "end of input".into(),
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

/// Parses a `CONTEXT` statement. Errors are [`Error::Syntax`] with 1-based line and column.
pub fn parse(text: &str) -> Result<ContextStatement> {
    if text.len() > MAX_STATEMENT_BYTES {
        return Err(Error::invalid(format!(
            "CONTEXT statement is {} bytes; the limit is {MAX_STATEMENT_BYTES}",
            text.len()
        )));
    }
    let mut p = Parser { src: text, pos: 0 };
    p.statement()
}

impl<'a> Parser<'a> {
    fn err_at<T>(&self, at: usize, message: impl Into<String>) -> Result<T> {
        let before = &self.src[..at.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Err(Error::Syntax {
            line,
            column,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("--") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                break;
            }
        }
    }

    /// Lexes the next token without consuming it; returns it with its start and end.
    fn lex(&mut self) -> Result<(Tok, usize, usize)> {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.src[start..];
        let Some(c) = rest.chars().next() else {
            return Ok((Tok::End, start, start));
        };
        if c.is_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'))
                .unwrap_or(rest.len());
            return Ok((Tok::Word(rest[..len].to_string()), start, start + len));
        }
        if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && rest[1..].starts_with(|d: char| d.is_ascii_digit() || d == '.'))
        {
            let mut len = c.len_utf8();
            let b = rest.as_bytes();
            while len < b.len() {
                let x = b[len];
                let exp_sign = (x == b'-' || x == b'+') && matches!(b[len - 1], b'e' | b'E');
                if x.is_ascii_digit() || x == b'.' || x == b'e' || x == b'E' || exp_sign {
                    len += 1;
                } else {
                    break;
                }
            }
            return Ok((Tok::Num(rest[..len].to_string()), start, start + len));
        }
        if c == '\'' || c == '"' {
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((i, ch)) = chars.next() {
                if ch == c {
                    if chars.peek().is_some_and(|&(_, n)| n == c) {
                        out.push(c);
                        chars.next();
                        continue;
                    }
                    let tok = if c == '\'' {
                        Tok::Str(out)
                    } else {
                        Tok::Quoted(out)
                    };
                    return Ok((tok, start, start + i + 1));
                }
                out.push(ch);
            }
            return self.err_at(start, "unterminated quoted text");
        }
        for p in ["<=", ">=", "(", ")", ",", "[", "]", ";", "=", "<", ">"] {
            if rest.starts_with(p) {
                return Ok((Tok::Punct(p), start, start + p.len()));
            }
        }
        self.err_at(start, format!("unexpected character {c:?}"))
    }

    fn peek(&mut self) -> Result<Tok> {
        let save = self.pos;
        let r = self.lex();
        self.pos = save;
        Ok(r?.0)
    }

    fn next(&mut self) -> Result<(Tok, usize)> {
        let (t, s, e) = self.lex()?;
        self.pos = e;
        Ok((t, s))
    }

    fn peek_kw(&mut self, kw: &str) -> Result<bool> {
        Ok(matches!(self.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case(kw)))
    }

    fn eat_kw(&mut self, kw: &str) -> Result<bool> {
        if self.peek_kw(kw)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        let (t, at) = self.next()?;
        match t {
            Tok::Word(w) if w.eq_ignore_ascii_case(kw) => Ok(()),
            other => self.err_at(at, format!("expected {kw}, found {}", other.show())),
        }
    }

    fn eat_punct(&mut self, p: &str) -> Result<bool> {
        if matches!(self.peek()?, Tok::Punct(q) if q == p) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_punct(&mut self, p: &str) -> Result<()> {
        let (t, at) = self.next()?;
        match t {
            Tok::Punct(q) if q == p => Ok(()),
            other => self.err_at(at, format!("expected `{p}`, found {}", other.show())),
        }
    }

    fn string(&mut self) -> Result<String> {
        let (t, at) = self.next()?;
        match t {
            Tok::Str(s) => Ok(s),
            other => self.err_at(at, format!("expected a 'string', found {}", other.show())),
        }
    }

    fn name(&mut self) -> Result<String> {
        let (t, at) = self.next()?;
        match t {
            Tok::Word(w) | Tok::Quoted(w) if !w.is_empty() => Ok(w),
            other => self.err_at(at, format!("expected a name, found {}", other.show())),
        }
    }

    fn integer(&mut self) -> Result<usize> {
        let (t, at) = self.next()?;
        match t {
            Tok::Num(n) => match n.parse::<usize>() {
                Ok(v) if v <= u32::MAX as usize => Ok(v),
                _ => self.err_at(
                    at,
                    format!("expected an integer in 0..=4294967295, found `{n}`"),
                ),
            },
            other => self.err_at(at, format!("expected an integer, found {}", other.show())),
        }
    }

    fn number(&mut self) -> Result<f64> {
        let (t, at) = self.next()?;
        match t {
            Tok::Num(n) => match n.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => self.err_at(at, format!("bad number `{n}`")),
            },
            other => self.err_at(at, format!("expected a number, found {}", other.show())),
        }
    }

    fn literal(&mut self) -> Result<Json> {
        let (t, at) = self.next()?;
        match t {
            Tok::Str(s) => Ok(Json::String(s)),
            Tok::Num(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    return Ok(Json::from(i));
                }
                match n.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(f) => Ok(Json::Number(f)),
                    None => self.err_at(at, format!("bad number `{n}`")),
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Json::Bool(true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Json::Bool(false)),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Ok(Json::Null),
            other => self.err_at(at, format!("expected a literal, found {}", other.show())),
        }
    }

    /// Raw text up to the `)` matching an already consumed `(`.
    fn raw_parens(&mut self, open_at: usize) -> Result<(String, usize)> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut depth = 1usize;
        let mut i = start;
        while i < b.len() {
            match b[i] {
                q @ (b'\'' | b'"' | b'`') => {
                    i += 1;
                    loop {
                        if i >= b.len() {
                            return self.err_at(open_at, "unterminated quoted text inside ( ... )");
                        }
                        if b[i] == q {
                            if b.get(i + 1) == Some(&q) {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                }
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok((self.src[start..i].to_string(), start));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.err_at(open_at, "unbalanced `(`: no matching `)`")
    }

    fn check_sql(&self, sql: &str, at: usize) -> Result<()> {
        if sql.trim().is_empty() {
            return self.err_at(at, "empty SQL");
        }
        if let Err(e) = toondb_query::parse(sql) {
            return self.err_at(at, format!("in SQL: {e}"));
        }
        Ok(())
    }

    fn statement(&mut self) -> Result<ContextStatement> {
        self.expect_kw("CONTEXT")?;
        self.eat_kw("SELECT")?;
        let mut sections = vec![self.section()?];
        while self.eat_punct(",")? {
            sections.push(self.section()?);
        }
        let mut budget = None;
        let mut tokenizer = None;
        loop {
            if self.eat_kw("BUDGET")? {
                budget = Some(self.integer()?);
            } else if self.eat_kw("TOKENIZER")? {
                let (t, at) = self.next()?;
                tokenizer = Some(match t {
                    Tok::Word(w) | Tok::Str(w) | Tok::Quoted(w) => match w
                        .to_ascii_lowercase()
                        .as_str()
                    {
                        "o200k" | "o200k_base" => Tokenizer::O200k,
                        "cl100k" | "cl100k_base" => Tokenizer::Cl100k,
                        _ => {
                            return self
                                .err_at(at, format!("unknown tokenizer `{w}` (o200k or cl100k)"))
                        }
                    },
                    other => {
                        return self.err_at(
                            at,
                            format!("expected a tokenizer name, found {}", other.show()),
                        )
                    }
                });
            } else {
                break;
            }
        }
        self.eat_punct(";")?;
        let (t, at) = self.next()?;
        if t != Tok::End {
            return self.err_at(
                at,
                format!(
                    "expected `,`, a section modifier, BUDGET, TOKENIZER or the end, found {}",
                    t.show()
                ),
            );
        }
        Ok(ContextStatement {
            sections,
            budget,
            tokenizer,
        })
    }

    fn section(&mut self) -> Result<Section> {
        let (t, at) = self.next()?;
        let kw = match &t {
            Tok::Word(w) => w.to_ascii_uppercase(),
            Tok::Punct("(") => "(".into(),
            _ => String::new(),
        };
        let mut s = match kw.as_str() {
            "SYSTEM" => Section::system(self.string()?),
            "TEXT" => Section::text("text", self.string()?),
            "HISTORY" => {
                self.expect_punct("(")?;
                let mut msgs = Vec::new();
                loop {
                    let (rt, rat) = self.next()?;
                    let role = match rt {
                        Tok::Word(w) | Tok::Str(w) | Tok::Quoted(w) => w,
                        other => return self.err_at(rat, format!("expected a role, found {}", other.show())),
                    };
                    msgs.push(Message::new(role, self.string()?));
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                self.expect_punct(")")?;
                Section::history(msgs)
            }
            "SEARCH" => {
                let coll = self.name()?;
                let text = match self.peek()? {
                    Tok::Str(_) => Some(self.string()?),
                    _ => None,
                };
                let mut vector = None;
                if self.eat_kw("VECTOR")? {
                    self.expect_punct("[")?;
                    let mut v = vec![self.number()? as f32];
                    while self.eat_punct(",")? {
                        v.push(self.number()? as f32);
                    }
                    self.expect_punct("]")?;
                    vector = Some(v);
                }
                let mut k = 5;
                if self.eat_kw("K")? {
                    let (_, kat, _) = self.lex()?;
                    k = self.integer()?;
                    if k == 0 {
                        return self.err_at(kat, "K must be at least 1");
                    }
                }
                let mut req = match (text, vector) {
                    (Some(t), Some(v)) => SearchRequest::hybrid(t, v, k),
                    (Some(t), None) => SearchRequest::text(t, k),
                    (None, Some(v)) => SearchRequest::vector(v, k),
                    (None, None) => {
                        let (t, at) = self.next()?;
                        return self.err_at(at, format!("SEARCH needs a 'query text' or VECTOR [..], found {}", t.show()));
                    }
                };
                if self.eat_kw("WHERE")? {
                    req = req.filter(self.filter()?);
                }
                Section::search(&coll, req)
            }
            "SQL" => {
                let (_, sat, _) = self.lex()?;
                let sql = self.string()?;
                // Position of the inner SQL: just after the opening quote.
                self.check_sql(&sql, sat + 1)?;
                Section::sql(sql, &[])
            }
            "(" => {
                let (sql, sat) = self.raw_parens(at)?;
                self.check_sql(&sql, sat)?;
                Section::sql(sql.trim(), &[])
            }
            "KV" => {
                if self.eat_kw("PREFIX")? {
                    let prefix = self.string()?;
                    let mut s = Section::kv_prefix(prefix.as_bytes());
                    if self.eat_kw("LIMIT")? {
                        let n = self.integer()?;
                        if let Source::KvPrefix { limit, .. } = &mut s.source {
                            *limit = n;
                        }
                    }
                    s
                } else if self.eat_kw("KEYS")? {
                    self.expect_punct("(")?;
                    let mut keys = vec![self.string()?];
                    while self.eat_punct(",")? {
                        keys.push(self.string()?);
                    }
                    self.expect_punct(")")?;
                    Section::kv_keys(keys)
                } else {
                    let (t, at) = self.next()?;
                    return self.err_at(at, format!("expected PREFIX or KEYS after KV, found {}", t.show()));
                }
            }
            "GRAPH" => {
                let ns = self.name()?;
                self.expect_kw("FROM")?;
                let start = self.string()?;
                let walk = self.graph_options()?;
                Section::graph(&ns, &start, walk)
            }
            _ => {
                return self.err_at(
                    at,
                    format!(
                        "expected a section (SYSTEM, TEXT, HISTORY, SEARCH, SQL, ( query ), KV, GRAPH), found {}",
                        t.show()
                    ),
                )
            }
        };
        loop {
            if self.eat_kw("AS")? {
                s = s.named(self.name()?);
            } else if self.eat_kw("PRIORITY")? {
                let (t, at) = self.next()?;
                let p = match t {
                    Tok::Num(n) => n.parse::<i32>().ok(),
                    _ => None,
                };
                match p {
                    Some(p) => s = s.priority(p),
                    None => return self.err_at(at, "expected a priority (a 32-bit integer)"),
                }
            } else if self.eat_kw("MAX")? {
                self.expect_kw("TOKENS")?;
                s = s.max_tokens(self.integer()?);
            } else if self.eat_kw("KEEP")? {
                if self.eat_kw("FIRST")? {
                    s = s.keep(Keep::First);
                } else if self.eat_kw("LAST")? {
                    s = s.keep(Keep::Last);
                } else {
                    let (t, at) = self.next()?;
                    return self.err_at(at, format!("expected FIRST or LAST, found {}", t.show()));
                }
            } else if self.eat_kw("WITH")? {
                self.expect_kw("METADATA")?;
                s = s.with_metadata(true);
            } else {
                break;
            }
        }
        Ok(s)
    }

    fn graph_options(&mut self) -> Result<Walk> {
        let mut w = Walk::default();
        loop {
            if self.eat_kw("DEPTH")? {
                let (_, at, _) = self.lex()?;
                w.max_depth = self.integer()?;
                if w.max_depth > MAX_DEPTH {
                    return self.err_at(at, format!("DEPTH is at most {MAX_DEPTH}"));
                }
            } else if self.eat_kw("NODES")? {
                let (_, at, _) = self.lex()?;
                w.max_nodes = self.integer()?;
                if w.max_nodes == 0 {
                    return self.err_at(at, "NODES must be at least 1");
                }
            } else if self.eat_kw("DIRECTION")? {
                let (t, at) = self.next()?;
                w.direction = match t {
                    Tok::Word(d) => match d.parse::<EdgeDirection>() {
                        Ok(d) => d,
                        Err(_) => return self.err_at(at, "expected OUT, IN or BOTH"),
                    },
                    other => {
                        return self.err_at(
                            at,
                            format!("expected OUT, IN or BOTH, found {}", other.show()),
                        )
                    }
                };
            } else if self.eat_kw("TYPES")? {
                self.expect_punct("(")?;
                let mut types = vec![self.string()?];
                while self.eat_punct(",")? {
                    types.push(self.string()?);
                }
                self.expect_punct(")")?;
                w.edge_types = types;
            } else if self.eat_kw("ORDER")? {
                if self.eat_kw("BFS")? {
                    w.order = Order::Bfs;
                } else if self.eat_kw("DFS")? {
                    w.order = Order::Dfs;
                } else {
                    let (t, at) = self.next()?;
                    return self.err_at(at, format!("expected BFS or DFS, found {}", t.show()));
                }
            } else if self.peek_kw("AS")? {
                let save = self.pos;
                self.next()?;
                if !self.eat_kw("OF")? {
                    // `AS name`: the section modifier.
                    self.pos = save;
                    break;
                }
                let valid = if self.eat_kw("VALID")? {
                    true
                } else if self.eat_kw("TX")? {
                    false
                } else {
                    let (t, at) = self.next()?;
                    return self.err_at(at, format!("expected VALID or TX, found {}", t.show()));
                };
                let (t, at) = self.next()?;
                let v = match t {
                    Tok::Num(n) => match n.parse::<i64>() {
                        Ok(v) => v,
                        Err(_) => {
                            return self.err_at(
                                at,
                                format!("expected a time in microseconds, found `{n}`"),
                            )
                        }
                    },
                    other => {
                        return self.err_at(
                            at,
                            format!("expected a time in microseconds, found {}", other.show()),
                        )
                    }
                };
                if valid {
                    w.as_of.valid = Some(v);
                } else {
                    w.as_of.tx = Some(v);
                }
            } else {
                break;
            }
        }
        Ok(w)
    }

    fn filter(&mut self) -> Result<Filter> {
        let mut parts = vec![self.condition()?];
        while self.eat_kw("AND")? {
            parts.push(self.condition()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn condition(&mut self) -> Result<Filter> {
        let field = self.name()?;
        if self.eat_kw("IN")? {
            self.expect_punct("(")?;
            let mut vals = vec![self.literal()?];
            while self.eat_punct(",")? {
                vals.push(self.literal()?);
            }
            self.expect_punct(")")?;
            return Ok(Filter::In(field, vals));
        }
        let (t, at) = self.next()?;
        let op = match t {
            Tok::Punct(p @ ("=" | "<" | "<=" | ">" | ">=")) => p,
            other => {
                return self.err_at(
                    at,
                    format!("expected =, <, <=, >, >= or IN, found {}", other.show()),
                )
            }
        };
        let v = self.literal()?;
        let r = Filter::range(field.clone());
        Ok(match op {
            "=" => Filter::Eq(field, v),
            "<" => r.lt(v),
            "<=" => r.lte(v),
            ">" => r.gt(v),
            _ => r.gte(v),
        })
    }
}

//! The encoder: [`Value`] to TOON text (§2, §7–§12).

use std::fmt::Write as _;

use crate::options::{Delimiter, EncodeOptions};
use crate::value::{Map, Number, Value};

/// Encodes a value as a TOON document (no trailing newline, LF line endings).
///
/// Every array header uses the document delimiter from `opts`. An indent of 0 is treated
/// as 1.
///
/// ```
/// use toondb_toon::{encode, EncodeOptions, Value};
/// let v: Value = serde_json::json!({"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]}).into();
/// assert_eq!(encode(&v, &EncodeOptions::default()), "users[2]{id,name}:\n  1,Ada\n  2,Bob");
/// ```
pub fn encode(value: &Value, opts: &EncodeOptions) -> String {
    let mut enc = Encoder {
        out: String::new(),
        indent: opts.indent.max(1),
        delim: opts.delimiter,
        started: false,
    };
    enc.root(value);
    enc.out
}

/// Encodes a `serde_json::Value` (converted through [`Value`]).
pub fn encode_json(value: &serde_json::Value, opts: &EncodeOptions) -> String {
    encode(&Value::from(value), opts)
}

/// A node of a tabular field list: a leaf field or a nested field group (§9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) children: Option<Vec<Field<'a>>>,
}

struct Encoder {
    out: String,
    indent: usize,
    delim: Delimiter,
    started: bool,
}

impl Encoder {
    fn newline(&mut self, depth: usize) {
        if self.started {
            self.out.push('\n');
        } else {
            self.started = true;
        }
        push_spaces(&mut self.out, depth * self.indent);
    }

    fn root(&mut self, v: &Value) {
        match v {
            Value::Array(a) => {
                self.newline(0);
                if a.is_empty() {
                    self.out.push_str("[]");
                } else {
                    self.array_body(None, a, 0, true);
                }
            }
            Value::Object(m) => {
                if let Some(fields) = keyed_fields(m) {
                    self.newline(0);
                    self.keyed(None, m, &fields, 0);
                } else {
                    self.fields(m, 0);
                }
            }
            prim => {
                self.newline(0);
                write_primitive(&mut self.out, prim, self.delim.as_byte());
            }
        }
    }

    fn fields(&mut self, m: &Map, depth: usize) {
        for (k, v) in m {
            self.newline(depth);
            self.field(k, v, depth);
        }
    }

    /// Writes one field on an already started line. `field_depth` is the depth the field
    /// stands at for scope purposes; its content goes to `field_depth + 1`.
    fn field(&mut self, key: &str, v: &Value, field_depth: usize) {
        match v {
            Value::Array(a) => {
                if a.is_empty() {
                    write_key(&mut self.out, key);
                    self.out.push_str(": []");
                } else {
                    self.array_body(Some(key), a, field_depth, true);
                }
            }
            Value::Object(m) => {
                if let Some(fields) = keyed_fields(m) {
                    self.keyed(Some(key), m, &fields, field_depth);
                } else {
                    write_key(&mut self.out, key);
                    self.out.push(':');
                    self.fields(m, field_depth + 1);
                }
            }
            prim => {
                write_key(&mut self.out, key);
                self.out.push_str(": ");
                write_primitive(&mut self.out, prim, self.delim.as_byte());
            }
        }
    }

    /// Writes a non-empty array's header (line already started) and its body.
    fn array_body(&mut self, key: Option<&str>, a: &[Value], field_depth: usize, tabular: bool) {
        let d = self.delim.as_byte();
        if a.iter().all(Value::is_primitive) {
            write_header(&mut self.out, key, a.len(), false, self.delim, None);
            self.out.push(' ');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    self.out.push(d as char);
                }
                write_primitive(&mut self.out, v, d);
            }
            return;
        }
        if tabular {
            if let Some((fields, aligned)) = array_tabular_fields(a) {
                write_header(
                    &mut self.out,
                    key,
                    a.len(),
                    false,
                    self.delim,
                    Some(&fields),
                );
                let flat = fields.iter().all(|f| f.children.is_none());
                for (v, &al) in a.iter().zip(&aligned) {
                    if let Value::Object(o) = v {
                        self.newline(field_depth + 1);
                        if flat && al {
                            write_values(&mut self.out, o.values(), d);
                        } else {
                            write_cells(&mut self.out, o, &fields, d, &mut true);
                        }
                    }
                }
                return;
            }
        }
        write_header(&mut self.out, key, a.len(), false, self.delim, None);
        for v in a {
            self.list_item(v, field_depth + 1);
        }
    }

    fn keyed(&mut self, key: Option<&str>, m: &Map, fields: &[Field<'_>], field_depth: usize) {
        let d = self.delim.as_byte();
        write_header(&mut self.out, key, m.len(), true, self.delim, Some(fields));
        for (k, v) in m {
            if let Value::Object(o) = v {
                self.newline(field_depth + 1);
                write_key(&mut self.out, k);
                self.out.push_str(": ");
                write_cells(&mut self.out, o, fields, d, &mut true);
            }
        }
    }

    fn list_item(&mut self, v: &Value, depth: usize) {
        self.newline(depth);
        match v {
            Value::Array(a) => {
                self.out.push_str("- ");
                if a.is_empty() {
                    write_header(&mut self.out, None, 0, false, self.delim, None);
                } else {
                    self.array_body(None, a, depth, false);
                }
            }
            Value::Object(m) => {
                let mut it = m.iter();
                match it.next() {
                    None => self.out.push('-'),
                    Some((k, v)) => {
                        self.out.push_str("- ");
                        self.field(k, v, depth + 1);
                        for (k, v) in it {
                            self.newline(depth + 1);
                            self.field(k, v, depth + 1);
                        }
                    }
                }
            }
            prim => {
                self.out.push_str("- ");
                write_primitive(&mut self.out, prim, self.delim.as_byte());
            }
        }
    }
}

pub(crate) fn push_spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Looks up field `name`, trying position `i` first (the common case of identical order).
#[inline]
pub(crate) fn get_field<'m>(o: &'m Map, i: usize, name: &str) -> Option<&'m Value> {
    match o.get_index(i) {
        Some((k, v)) if key_eq(k, name) => Some(v),
        _ => o.get(name),
    }
}

/// String equality without a libc `memcmp` call for the short keys typical of records.
#[inline]
fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.as_ptr() == b.as_ptr() {
        return true;
    }
    if a.len() > 32 {
        return a == b;
    }
    let mut diff = 0u8;
    for i in 0..a.len() {
        diff |= a[i] ^ b[i];
    }
    diff == 0
}

/// The tabular field list of an array (§9.3) and per-row alignment flags, or `None` if
/// it must be a list.
fn array_tabular_fields(a: &[Value]) -> Option<(Vec<Field<'_>>, Vec<bool>)> {
    let mut objs = Vec::with_capacity(a.len());
    for v in a {
        match v {
            Value::Object(o) => objs.push(o),
            _ => return None,
        }
    }
    tabular_fields_aligned(&objs)
}

/// The keyed tabular field list of an object (§9.5), or `None` if it nests normally.
pub(crate) fn keyed_fields(m: &Map) -> Option<Vec<Field<'_>>> {
    if m.len() < 2 {
        return None;
    }
    let mut objs = Vec::with_capacity(m.len());
    for v in m.values() {
        match v {
            Value::Object(o) => objs.push(o),
            _ => return None,
        }
    }
    tabular_fields(&objs)
}

/// Column classification (§9.3): every object non-empty with the same key set, and every
/// column uniform-primitive or nested-uniform.
fn tabular_fields<'a>(objs: &[&'a Map]) -> Option<Vec<Field<'a>>> {
    tabular_fields_aligned(objs).map(|(f, _)| f)
}

/// Like [`tabular_fields`], also returning for each object whether its keys are in the
/// first object's order (so its cells can be read by position). Walks row by row.
fn tabular_fields_aligned<'a>(objs: &[&'a Map]) -> Option<(Vec<Field<'a>>, Vec<bool>)> {
    let first = *objs.first()?;
    if first.is_empty() {
        return None;
    }
    let mut nested = Vec::with_capacity(first.len());
    for v in first.values() {
        match v {
            Value::Object(m) if !m.is_empty() => nested.push(true),
            v if v.is_primitive() => nested.push(false),
            _ => return None,
        }
    }
    let mut subs: Vec<Vec<&'a Map>> = nested
        .iter()
        .map(|&n| {
            if n {
                Vec::with_capacity(objs.len())
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut aligned = Vec::with_capacity(objs.len());
    for o in objs {
        if o.len() != first.len() {
            return None;
        }
        let mut al = true;
        for (i, k) in first.keys().enumerate() {
            let v = match o.get_index(i) {
                Some((ok, v)) if key_eq(ok, k) => v,
                _ => {
                    al = false;
                    o.get(k)?
                }
            };
            if nested[i] {
                match v {
                    Value::Object(m) if !m.is_empty() => subs[i].push(m),
                    _ => return None,
                }
            } else if !v.is_primitive() {
                return None;
            }
        }
        aligned.push(al);
    }
    let mut fields = Vec::with_capacity(first.len());
    for ((k, sub), n) in first.keys().zip(subs).zip(nested) {
        let children = if n { Some(tabular_fields(&sub)?) } else { None };
        fields.push(Field { name: k, children });
    }
    Some((fields, aligned))
}

/// Writes primitive values joined by the delimiter.
fn write_values<'v>(out: &mut String, values: impl Iterator<Item = &'v Value>, d: u8) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(d as char);
        }
        write_primitive(out, v, d);
    }
}

/// Writes the leaf cells of `o` in depth-first field order.
pub(crate) fn write_cells(
    out: &mut String,
    o: &Map,
    fields: &[Field<'_>],
    d: u8,
    first: &mut bool,
) {
    for (i, f) in fields.iter().enumerate() {
        let v = get_field(o, i, f.name);
        match (&f.children, v) {
            (Some(children), Some(Value::Object(sub))) => write_cells(out, sub, children, d, first),
            (_, v) => {
                if !*first {
                    out.push(d as char);
                }
                *first = false;
                write_primitive(out, v.unwrap_or(&Value::Null), d);
            }
        }
    }
}

/// Writes `key[N<:?><delim?>]{fields}:`.
pub(crate) fn write_header(
    out: &mut String,
    key: Option<&str>,
    n: usize,
    keyed: bool,
    delim: Delimiter,
    fields: Option<&[Field<'_>]>,
) {
    if let Some(k) = key {
        write_key(out, k);
    }
    out.push('[');
    let _ = write!(out, "{n}");
    if keyed {
        out.push(':');
    }
    out.push_str(delim.header_symbol());
    out.push(']');
    if let Some(f) = fields {
        write_field_list(out, f, delim.as_char());
    }
    out.push(':');
}

fn write_field_list(out: &mut String, fields: &[Field<'_>], d: char) {
    out.push('{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(d);
        }
        write_key(out, f.name);
        if let Some(c) = &f.children {
            write_field_list(out, c, d);
        }
    }
    out.push('}');
}

/// Writes a key, quoted unless it matches `^[A-Za-z_][A-Za-z0-9_.]*$` (§7.3).
pub(crate) fn write_key(out: &mut String, k: &str) {
    if is_safe_key(k) {
        out.push_str(k);
    } else {
        write_quoted(out, k);
    }
}

pub(crate) fn is_safe_key(k: &str) -> bool {
    let b = k.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    b[1..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
}

/// Writes a primitive; strings are quoted per §7.2 with `delim` as the relevant delimiter.
/// Arrays and objects (never passed by the encoder) are written as `null`.
pub(crate) fn write_primitive(out: &mut String, v: &Value, delim: u8) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, delim),
        Value::Array(_) | Value::Object(_) => out.push_str("null"),
    }
}

fn write_number(out: &mut String, n: &Number) {
    n.write_canonical(out);
}

/// Writes a string value, quoting it when §7.2 requires.
pub(crate) fn write_string(out: &mut String, s: &str, delim: u8) {
    if needs_quotes(s, delim) {
        write_quoted(out, s);
    } else {
        out.push_str(s);
    }
}

/// §7.2 quoting rules for string values.
pub(crate) fn needs_quotes(s: &str, delim: u8) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return true;
    };
    if matches!(first, b' ' | b'\t' | b'-' | b'#') || matches!(last, b' ' | b'\t') {
        return true;
    }
    if matches!(s, "true" | "false" | "null") {
        return true;
    }
    let table = special_table(delim);
    if b.iter().any(|&c| table[usize::from(c)]) {
        return true;
    }
    (first.is_ascii_digit() || first == b'+') && is_numeric_like(b)
}

/// Bytes that force quoting anywhere in a string: controls, `:` `"` `\\` `[` `]` `{` `}`,
/// plus the relevant delimiter (one table per delimiter, so the scan is one lookup a byte).
const fn special(delim: u8) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b':' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[delim as usize] = true;
    t
}

static SPECIAL_COMMA: [bool; 256] = special(b',');
static SPECIAL_PIPE: [bool; 256] = special(b'|');
static SPECIAL_TAB: [bool; 256] = special(b'\t');

#[inline]
fn special_table(delim: u8) -> &'static [bool; 256] {
    match delim {
        b'|' => &SPECIAL_PIPE,
        b'\t' => &SPECIAL_TAB,
        _ => &SPECIAL_COMMA,
    }
}

/// `/^[+-]?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/i`
fn is_numeric_like(b: &[u8]) -> bool {
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Writes `"…"` with the §7.1 encoder escapes.
pub(crate) fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.bytes().enumerate() {
        let esc: &str = match c {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            c if c < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", c);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_rules() {
        for s in [
            "", " a", "a ", "true", "null", "42", "-3.14", "1e-6", "+1", "05", "a:b", "-", "#x",
            "[", "a\"b", "a,b",
        ] {
            assert!(needs_quotes(s, b','), "{s:?} should be quoted");
        }
        for s in ["hello", "a b", "café", "1.2.3", "e5", "a|b", "Ada_99"] {
            assert!(!needs_quotes(s, b','), "{s:?} should not be quoted");
        }
        assert!(needs_quotes("a|b", b'|'));
    }

    #[test]
    fn escapes() {
        let mut s = String::new();
        write_quoted(&mut s, "a\u{1}\"\\\n\tb");
        assert_eq!(s, r#""a\u0001\"\\\n\tb""#);
    }
}

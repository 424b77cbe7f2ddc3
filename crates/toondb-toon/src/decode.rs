//! The decoder: TOON text to [`Value`] (§4–§12, strict-mode checks of §14).
//!
//! Decoding runs in two passes: a lexical pre-pass splits lines (dropping a trailing CR),
//! removes comment lines, records blank lines and computes depths; then a recursive-descent
//! parser walks the remaining lines. Recursion is bounded by
//! [`DecodeOptions::max_depth`]; capacity reserved from declared lengths is capped.

use crate::encode::is_safe_key;
use crate::error::{Error, Result, SyntaxError};
use crate::options::DecodeOptions;
use crate::value::{Map, Number, Value};

/// Largest capacity reserved up front from a declared `[N]` (the rest grows on demand).
const MAX_RESERVE: usize = 1024;

/// Decodes a TOON document.
///
/// ```
/// use toondb_toon::{decode, DecodeOptions};
/// let v = decode("users[2]{id,name}:\n  1,Ada\n  2,Bob", &DecodeOptions::default()).unwrap();
/// assert_eq!(
///     serde_json::Value::from(v),
///     serde_json::json!({"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]})
/// );
/// let err = decode("tags[3]: a,b", &DecodeOptions::default()).unwrap_err();
/// assert_eq!(err.position(), Some((1, 1)));
/// ```
pub fn decode(input: &str, opts: &DecodeOptions) -> Result<Value> {
    if opts.indent == 0 {
        return Err(Error::InvalidArgument(
            "indent size must be at least 1".into(),
        ));
    }
    let lines = prepass(input, opts)?;
    let mut p = Parser {
        lines,
        pos: 0,
        strict: opts.strict,
        max_depth: opts.max_depth,
        nest: 0,
        spans: Vec::new(),
    };
    p.document()
}

/// Decodes TOON from bytes. In strict mode ill-formed UTF-8 is an error (§4); otherwise it
/// is replaced with U+FFFD.
pub fn decode_bytes(input: &[u8], opts: &DecodeOptions) -> Result<Value> {
    match std::str::from_utf8(input) {
        Ok(s) => decode(s, opts),
        Err(e) if opts.strict => {
            let good = &input[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            Err(Error::Syntax {
                line,
                column,
                kind: SyntaxError::InvalidUtf8,
            })
        }
        Err(_) => decode(&String::from_utf8_lossy(input), opts),
    }
}

/// Decodes a TOON document into a `serde_json::Value`.
pub fn decode_to_json(input: &str, opts: &DecodeOptions) -> Result<serde_json::Value> {
    decode(input, opts).map(Into::into)
}

struct Line<'a> {
    /// 1-based line number.
    no: usize,
    depth: usize,
    /// Characters of leading indentation (for columns).
    ws: usize,
    /// Content after the indentation, without a trailing CR.
    text: &'a str,
    /// Line number of the first blank line between the previous kept line and this one.
    blank_before: Option<usize>,
}

fn syntax(line: usize, column: usize, kind: SyntaxError) -> Error {
    Error::Syntax { line, column, kind }
}

fn prepass<'a>(input: &'a str, opts: &DecodeOptions) -> Result<Vec<Line<'a>>> {
    let mut lines = Vec::new();
    let mut pending_blank = None;
    for (i, raw) in input.split('\n').enumerate() {
        let no = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let spaces = raw.bytes().take_while(|&b| b == b' ').count();
        let rest = &raw[spaces..];
        if rest.starts_with('#') {
            continue; // comment line (§5.1)
        }
        if rest.bytes().all(|b| b == b' ' || b == b'\t') {
            pending_blank.get_or_insert(no);
            continue;
        }
        let (indent, ws, text) = if rest.starts_with('\t') {
            if opts.strict {
                return Err(syntax(no, spaces + 1, SyntaxError::TabIndentation));
            }
            // Non-strict tab policy: a tab in the indentation counts as one indent unit.
            let n = raw.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
            let tabs = raw[..n].bytes().filter(|&b| b == b'\t').count();
            (n - tabs + tabs * opts.indent, n, &raw[n..])
        } else {
            (spaces, spaces, rest)
        };
        if opts.strict && indent % opts.indent != 0 {
            return Err(syntax(
                no,
                1,
                SyntaxError::InvalidIndentation {
                    spaces: indent,
                    indent: opts.indent,
                },
            ));
        }
        lines.push(Line {
            no,
            depth: indent / opts.indent,
            ws,
            text,
            blank_before: pending_blank.take(),
        });
    }
    Ok(lines)
}

/// A parse error located by a pointer into the input (converted to line/column later).
type PErr = (SyntaxError, usize);
type PResult<T> = std::result::Result<T, PErr>;

fn at(s: &str, i: usize) -> usize {
    s.as_ptr() as usize + i
}

/// Trims U+0020 only (§12).
fn trim_sp(s: &str) -> &str {
    s.trim_matches(' ')
}

/// First unquoted occurrences of `:`, `[` and the delimiter in a line.
#[derive(Default)]
struct Scan {
    colon: Option<usize>,
    bracket: Option<usize>,
    delim: Option<usize>,
}

fn scan(s: &str, delim: u8) -> Scan {
    let b = s.as_bytes();
    let mut r = Scan::default();
    let mut in_q = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_q {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_q = false;
            }
        } else if c == b'"' {
            in_q = true;
        } else if c == b':' {
            if r.colon.is_none() {
                r.colon = Some(i);
            }
        } else if c == b'[' {
            if r.bracket.is_none() {
                r.bracket = Some(i);
            }
        } else if c == delim && r.delim.is_none() {
            r.delim = Some(i);
        }
        if r.colon.is_some() && r.bracket.is_some() && r.delim.is_some() {
            break;
        }
        i += 1;
    }
    r
}

/// Parses a quoted token starting at `start` (which must be `"`); returns the unescaped
/// string and the index just past the closing quote.
fn parse_quoted(s: &str, start: usize) -> PResult<(String, usize)> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run = i;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&s[run..i]);
                return Ok((out, i + 1));
            }
            b'\\' => {
                out.push_str(&s[run..i]);
                let c = match b.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    Some(b'r') => '\r',
                    Some(b't') => '\t',
                    Some(b'u') => {
                        let hex = b
                            .get(i + 2..i + 6)
                            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                        let Some(hex) = hex else {
                            return Err((SyntaxError::InvalidEscape, at(s, i)));
                        };
                        let code = hex.iter().fold(0u32, |acc, &h| {
                            acc * 16 + char::from(h).to_digit(16).unwrap_or(0)
                        });
                        let Some(c) = char::from_u32(code) else {
                            return Err((SyntaxError::LoneSurrogate, at(s, i)));
                        };
                        out.push(c);
                        i += 6;
                        run = i;
                        continue;
                    }
                    _ => return Err((SyntaxError::InvalidEscape, at(s, i))),
                };
                out.push(c);
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    Err((SyntaxError::UnterminatedString, at(s, start)))
}

/// The §4 number grammar; `None` means the token is a string.
fn parse_number(tok: &str) -> Option<Number> {
    let b = tok.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start || (b[int_start] == b'0' && i - int_start > 1) {
        return None;
    }
    let mut plain_int = true;
    if i < b.len() && b[i] == b'.' {
        plain_int = false;
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        plain_int = false;
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if plain_int {
        if let Ok(n) = tok.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = tok.parse::<u64>() {
            return Some(n.into());
        }
    }
    // Out-of-domain policy: integers beyond u64 become the nearest f64; a token that
    // overflows f64 (e.g. 1e999) stays a string, losslessly.
    tok.parse::<f64>().ok().and_then(Number::from_f64)
}

/// Parses one primitive token (already trimmed).
fn parse_primitive(tok: &str) -> PResult<Value> {
    if tok.starts_with('"') {
        let (s, end) = parse_quoted(tok, 0)?;
        if end != tok.len() {
            return Err((SyntaxError::TrailingAfterQuote, at(tok, end)));
        }
        return Ok(Value::String(s));
    }
    Ok(match tok {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match parse_number(tok) {
            Some(n) => Value::Number(n),
            None => Value::String(tok.to_owned()),
        },
    })
}

/// Parses a key token (already trimmed): quoted keys are unescaped, others are literal.
fn parse_key(tok: &str) -> PResult<String> {
    if tok.starts_with('"') {
        let (s, end) = parse_quoted(tok, 0)?;
        if end != tok.len() {
            return Err((SyntaxError::TrailingAfterQuote, at(tok, end)));
        }
        Ok(s)
    } else {
        Ok(tok.to_owned())
    }
}

/// Splits delimiter-separated values (B.3), trimming spaces around each token.
fn split_cells<'a>(s: &'a str, delim: u8, out: &mut Vec<&'a str>) {
    out.clear();
    let b = s.as_bytes();
    let mut in_q = false;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_q {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_q = false;
            }
        } else if c == b'"' {
            in_q = true;
        } else if c == delim {
            out.push(trim_sp(&s[start..i]));
            start = i + 1;
        }
        i += 1;
    }
    out.push(trim_sp(&s[start.min(s.len())..]));
}

#[derive(Debug)]
struct FieldNode {
    name: String,
    children: Option<Vec<FieldNode>>,
}

fn leaf_count(fields: &[FieldNode]) -> usize {
    fields
        .iter()
        .map(|f| f.children.as_deref().map_or(1, leaf_count))
        .sum()
}

struct Header<'a> {
    key: Option<String>,
    len: u64,
    keyed: bool,
    delim: u8,
    fields: Option<Vec<FieldNode>>,
    /// Content after the colon, trimmed of spaces.
    rest: &'a str,
}

enum HeaderParse<'a> {
    NotHeader,
    Header(Header<'a>),
    Malformed(PErr),
}

fn malformed<'a>(s: &str, i: usize, what: &'static str) -> HeaderParse<'a> {
    HeaderParse::Malformed((SyntaxError::InvalidHeader(what), at(s, i)))
}

/// Parses an array or keyed header (§6). `bracket` is the first unquoted `[`.
fn parse_header(
    s: &str,
    bracket: usize,
    strict: bool,
    depth_left: usize,
    max_depth: usize,
) -> HeaderParse<'_> {
    let b = s.as_bytes();
    let key = if b.first() == Some(&b'"') {
        match parse_quoted(s, 0) {
            Ok((k, end)) if end == bracket => Some(k),
            Ok(_) => return HeaderParse::NotHeader,
            Err(e) => return HeaderParse::Malformed(e),
        }
    } else if bracket == 0 {
        None
    } else if is_safe_key(&s[..bracket]) {
        Some(s[..bracket].to_owned())
    } else {
        return HeaderParse::NotHeader;
    };
    let mut i = bracket + 1;
    let ds = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == ds {
        return malformed(s, ds, "missing or non-integer length");
    }
    if b[ds] == b'0' && i - ds > 1 {
        return malformed(s, ds, "length has leading zeros");
    }
    let Ok(len) = s[ds..i].parse::<u64>() else {
        return malformed(s, ds, "length out of range");
    };
    let keyed = b.get(i) == Some(&b':');
    if keyed {
        i += 1;
    }
    let delim = match b.get(i) {
        Some(&d @ (b'\t' | b'|')) => {
            i += 1;
            d
        }
        _ => b',',
    };
    if b.get(i) != Some(&b']') {
        return malformed(s, i, "malformed bracket segment");
    }
    i += 1;
    let mut fields = None;
    if b.get(i) == Some(&b'{') {
        match parse_fields(s, &mut i, delim, strict, depth_left, max_depth) {
            Ok(f) => fields = Some(f),
            Err(e) => return HeaderParse::Malformed(e),
        }
    }
    match b.get(i) {
        Some(b':') => {}
        None => return HeaderParse::Malformed((SyntaxError::MissingColon, at(s, i))),
        Some(_) => return malformed(s, i, "unexpected content before the colon"),
    }
    i += 1;
    if keyed && fields.is_none() {
        return malformed(s, bracket, "keyed header requires a fields segment");
    }
    HeaderParse::Header(Header {
        key,
        len,
        keyed,
        delim,
        fields,
        rest: trim_sp(&s[i..]),
    })
}

fn parse_fields(
    s: &str,
    i: &mut usize,
    delim: u8,
    strict: bool,
    depth_left: usize,
    max_depth: usize,
) -> PResult<Vec<FieldNode>> {
    let b = s.as_bytes();
    let open = *i;
    if depth_left == 0 {
        return Err((SyntaxError::TooDeep { max_depth }, at(s, open)));
    }
    *i += 1;
    let mut out: Vec<FieldNode> = Vec::new();
    loop {
        while b.get(*i) == Some(&b' ') {
            *i += 1;
        }
        let name_at = *i;
        let name = if b.get(*i) == Some(&b'"') {
            let (n, end) = parse_quoted(s, *i)?;
            *i = end;
            n
        } else {
            let st = *i;
            while *i < b.len() && !matches!(b[*i], b'{' | b'}') && b[*i] != delim {
                *i += 1;
            }
            let n = trim_sp(&s[st..*i]);
            if n.is_empty() {
                let what = if b.get(*i) == Some(&b'}') && out.is_empty() {
                    "empty fields segment"
                } else if *i >= b.len() {
                    "unmatched brace in fields segment"
                } else {
                    "empty field name"
                };
                return Err((SyntaxError::InvalidHeader(what), at(s, st)));
            }
            if strict && n.bytes().any(|c| matches!(c, b',' | b'|' | b'\t')) {
                return Err((SyntaxError::DelimiterMismatch, at(s, st)));
            }
            if n.contains(':') {
                return Err((
                    SyntaxError::InvalidHeader("unmatched brace in fields segment"),
                    at(s, st),
                ));
            }
            n.to_owned()
        };
        while b.get(*i) == Some(&b' ') {
            *i += 1;
        }
        let children = if b.get(*i) == Some(&b'{') {
            Some(parse_fields(
                s,
                i,
                delim,
                strict,
                depth_left - 1,
                max_depth,
            )?)
        } else {
            None
        };
        while b.get(*i) == Some(&b' ') {
            *i += 1;
        }
        if strict && out.iter().any(|f| f.name == name) {
            return Err((SyntaxError::DuplicateKey(name), at(s, name_at)));
        }
        out.push(FieldNode { name, children });
        match b.get(*i) {
            Some(&c) if c == delim => *i += 1,
            Some(b'}') => {
                *i += 1;
                return Ok(out);
            }
            None => {
                return Err((
                    SyntaxError::InvalidHeader("unmatched brace in fields segment"),
                    at(s, open),
                ))
            }
            Some(_) => return Err((SyntaxError::DelimiterMismatch, at(s, *i))),
        }
    }
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
    strict: bool,
    max_depth: usize,
    nest: usize,
    /// Item depths of the arrays whose span (§12) has started.
    spans: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn err_at(&self, idx: usize, e: PErr) -> Error {
        let (kind, ptr) = e;
        let line = &self.lines[idx.min(self.lines.len().saturating_sub(1))];
        let base = line.text.as_ptr() as usize;
        let off = ptr.saturating_sub(base).min(line.text.len());
        let col = line.text.get(..off).map_or(off, |p| p.chars().count());
        syntax(line.no, line.ws + col + 1, kind)
    }

    fn err_line(&self, idx: usize, kind: SyntaxError) -> Error {
        let line = &self.lines[idx];
        syntax(line.no, line.ws + 1, kind)
    }

    /// The next kept line, checking for blank lines inside an array span.
    fn peek(&self) -> Result<Option<&Line<'a>>> {
        let Some(l) = self.lines.get(self.pos) else {
            return Ok(None);
        };
        if self.strict {
            if let (Some(b), Some(&min)) = (l.blank_before, self.spans.iter().min()) {
                if l.depth >= min {
                    return Err(syntax(b, 1, SyntaxError::BlankLineInArray));
                }
            }
        }
        Ok(Some(l))
    }

    fn enter(&mut self, idx: usize) -> Result<()> {
        self.nest += 1;
        if self.nest > self.max_depth {
            return Err(self.err_line(
                idx,
                SyntaxError::TooDeep {
                    max_depth: self.max_depth,
                },
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nest -= 1;
    }

    fn depth_left(&self) -> usize {
        self.max_depth.saturating_sub(self.nest)
    }

    fn insert(&self, map: &mut Map, k: String, v: Value, idx: usize) -> Result<()> {
        if self.strict && map.contains_key(&k) {
            return Err(self.err_line(idx, SyntaxError::DuplicateKey(k)));
        }
        map.insert(k, v);
        Ok(())
    }

    fn document(&mut self) -> Result<Value> {
        let Some(first) = self.peek()? else {
            return Ok(Value::Object(Map::new()));
        };
        let text = first.text;
        let idx = self.pos;
        if text.starts_with('[') {
            match parse_header(text, 0, self.strict, self.depth_left(), self.max_depth) {
                HeaderParse::Header(h) => {
                    if h.fields.is_some() && !h.rest.is_empty() {
                        if self.strict {
                            return Err(
                                self.err_at(idx, (SyntaxError::ContentAfterHeader, at(h.rest, 0)))
                            );
                        }
                    } else {
                        self.pos += 1;
                        let v = self.array_body(&h, idx, 1)?;
                        self.trailing()?;
                        return Ok(v);
                    }
                }
                HeaderParse::Malformed(e) if self.strict && trim_sp(text) != "[]" => {
                    return Err(self.err_at(idx, e));
                }
                _ => {}
            }
        }
        if trim_sp(text) == "[]" {
            self.pos += 1;
            self.trailing()?;
            return Ok(Value::Array(Vec::new()));
        }
        if self.lines.len() == 1 {
            let sc = scan(text, b',');
            if sc.colon.is_none() {
                self.pos += 1;
                return parse_primitive(trim_sp(text)).map_err(|e| self.err_at(idx, e));
            }
        }
        let mut m = Map::new();
        self.object_body(0, &mut m)?;
        Ok(Value::Object(m))
    }

    fn trailing(&self) -> Result<()> {
        if self.strict && self.pos < self.lines.len() {
            return Err(self.err_line(self.pos, SyntaxError::TrailingContent));
        }
        Ok(())
    }

    /// Reads the fields of an object whose content is at `depth`.
    fn object_body(&mut self, depth: usize, map: &mut Map) -> Result<()> {
        while let Some(l) = self.peek()? {
            let (ldepth, text) = (l.depth, l.text);
            if ldepth < depth {
                break;
            }
            let idx = self.pos;
            self.pos += 1;
            if ldepth > depth {
                if self.strict {
                    return Err(self.err_line(idx, SyntaxError::UnexpectedIndentation));
                }
                continue;
            }
            let (k, v) = self.field_line(idx, text, depth)?;
            self.insert(map, k, v, idx)?;
        }
        Ok(())
    }

    /// Parses a field (key-value line or keyed header line) standing at `field_depth`.
    fn field_line(
        &mut self,
        idx: usize,
        text: &'a str,
        field_depth: usize,
    ) -> Result<(String, Value)> {
        let sc = scan(text, b',');
        if let Some(br) = sc.bracket.filter(|&br| sc.colon.is_none_or(|c| br < c)) {
            match parse_header(text, br, self.strict, self.depth_left(), self.max_depth) {
                HeaderParse::Header(h) => {
                    let ok_key = h.key.is_some();
                    let ok_rest = h.fields.is_none() || h.rest.is_empty();
                    if ok_key && ok_rest {
                        let v = self.array_body(&h, idx, field_depth + 1)?;
                        return Ok((h.key.unwrap_or_default(), v));
                    }
                    if self.strict {
                        let e = if ok_key {
                            (SyntaxError::ContentAfterHeader, at(h.rest, 0))
                        } else {
                            (SyntaxError::MisplacedKeylessHeader, at(text, 0))
                        };
                        return Err(self.err_at(idx, e));
                    }
                }
                HeaderParse::Malformed(e) => {
                    if self.strict {
                        return Err(self.err_at(idx, e));
                    }
                }
                HeaderParse::NotHeader => {}
            }
        }
        let Some(c) = sc.colon else {
            return Err(self.err_at(idx, (SyntaxError::MissingColon, at(text, text.len()))));
        };
        let key = parse_key(trim_sp(&text[..c])).map_err(|e| self.err_at(idx, e))?;
        let val = trim_sp(&text[c + 1..]);
        let v = if val.is_empty() {
            self.enter(idx)?;
            let mut m = Map::new();
            self.object_body(field_depth + 1, &mut m)?;
            self.leave();
            Value::Object(m)
        } else if val == "[]" {
            Value::Array(Vec::new())
        } else {
            parse_primitive(val).map_err(|e| self.err_at(idx, e))?
        };
        Ok((key, v))
    }

    /// Decodes the body of an array or keyed header found on line `idx`; content lines are
    /// at `cd`.
    fn array_body(&mut self, h: &Header<'a>, idx: usize, cd: usize) -> Result<Value> {
        self.enter(idx)?;
        let v = match (&h.fields, h.keyed) {
            (Some(f), true) => self.keyed(h, f, idx, cd)?,
            (Some(f), false) => self.tabular(h, f, idx, cd)?,
            (None, _) if !h.rest.is_empty() => {
                let mut toks = Vec::new();
                split_cells(h.rest, h.delim, &mut toks);
                self.check_count(idx, h.len, toks.len())?;
                let mut out = Vec::with_capacity(toks.len());
                for t in toks {
                    out.push(parse_primitive(t).map_err(|e| self.err_at(idx, e))?);
                }
                Value::Array(out)
            }
            (None, _) => self.list(h, idx, cd)?,
        };
        self.leave();
        Ok(v)
    }

    fn check_count(&self, idx: usize, declared: u64, found: usize) -> Result<()> {
        let found = found as u64;
        if self.strict && declared != found {
            return Err(self.err_line(idx, SyntaxError::CountMismatch { declared, found }));
        }
        Ok(())
    }

    fn reserve(len: u64) -> usize {
        usize::try_from(len).unwrap_or(MAX_RESERVE).min(MAX_RESERVE)
    }

    /// Returns the next line at depth `cd`, `None` at the end of the scope; deeper lines are
    /// an error (strict) or skipped.
    fn next_at(&mut self, cd: usize) -> Result<Option<(usize, &'a str)>> {
        while let Some(l) = self.peek()? {
            if l.depth < cd {
                return Ok(None);
            }
            if l.depth > cd {
                if self.strict {
                    return Err(self.err_line(self.pos, SyntaxError::UnexpectedIndentation));
                }
                self.pos += 1;
                continue;
            }
            return Ok(Some((self.pos, l.text)));
        }
        Ok(None)
    }

    fn list(&mut self, h: &Header<'a>, idx: usize, cd: usize) -> Result<Value> {
        let mut items = Vec::with_capacity(Self::reserve(h.len));
        let spans = self.spans.len();
        while let Some((i, text)) = self.next_at(cd)? {
            if !(text == "-" || text.starts_with("- ")) {
                if self.strict {
                    return Err(
                        self.err_line(i, SyntaxError::UnexpectedLine("expected a list item"))
                    );
                }
                break;
            }
            if self.spans.len() == spans {
                self.spans.push(cd);
            }
            self.pos += 1;
            items.push(self.list_item(i, text, cd)?);
        }
        self.spans.truncate(spans);
        self.check_count(idx, h.len, items.len())?;
        Ok(Value::Array(items))
    }

    fn list_item(&mut self, idx: usize, text: &'a str, d: usize) -> Result<Value> {
        let rest = if text == "-" { "" } else { trim_sp(&text[2..]) };
        if rest.is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        if rest == "[]" {
            return Ok(Value::Array(Vec::new()));
        }
        let sc = scan(rest, b',');
        if rest.starts_with('[') && sc.colon.is_none_or(|c| c > 0) {
            match parse_header(rest, 0, self.strict, self.depth_left(), self.max_depth) {
                HeaderParse::Header(h) => {
                    if h.fields.is_none() {
                        return self.array_body(&h, idx, d + 1);
                    }
                    if self.strict {
                        return Err(
                            self.err_at(idx, (SyntaxError::MisplacedKeylessHeader, at(rest, 0)))
                        );
                    }
                }
                HeaderParse::Malformed(e) => {
                    if self.strict {
                        return Err(self.err_at(idx, e));
                    }
                }
                HeaderParse::NotHeader => {}
            }
        }
        if sc.colon.is_some() {
            self.enter(idx)?;
            let (k, v) = self.field_line(idx, rest, d + 1)?;
            let mut m = Map::new();
            m.insert(k, v);
            self.object_body(d + 1, &mut m)?;
            self.leave();
            return Ok(Value::Object(m));
        }
        parse_primitive(rest).map_err(|e| self.err_at(idx, e))
    }

    fn tabular(
        &mut self,
        h: &Header<'a>,
        fields: &[FieldNode],
        idx: usize,
        cd: usize,
    ) -> Result<Value> {
        let width = leaf_count(fields);
        let mut rows = Vec::with_capacity(Self::reserve(h.len));
        let mut toks = Vec::with_capacity(width);
        let spans = self.spans.len();
        while let Some((i, text)) = self.next_at(cd)? {
            let sc = scan(text, h.delim);
            let is_row = match (sc.colon, sc.delim) {
                (None, _) => true,
                (Some(c), Some(d)) => d < c,
                (Some(_), None) => false,
            };
            if !is_row {
                break;
            }
            if self.spans.len() == spans {
                self.spans.push(cd);
            }
            self.pos += 1;
            split_cells(text, h.delim, &mut toks);
            rows.push(Value::Object(self.row(i, fields, width, &toks)?));
        }
        self.spans.truncate(spans);
        self.check_count(idx, h.len, rows.len())?;
        Ok(Value::Array(rows))
    }

    fn keyed(
        &mut self,
        h: &Header<'a>,
        fields: &[FieldNode],
        idx: usize,
        cd: usize,
    ) -> Result<Value> {
        let width = leaf_count(fields);
        let mut out = Map::with_capacity(Self::reserve(h.len));
        let mut toks = Vec::with_capacity(width);
        let mut count = 0usize;
        let spans = self.spans.len();
        while let Some((i, text)) = self.next_at(cd)? {
            let sc = scan(text, h.delim);
            let Some(c) = sc.colon else {
                if self.strict {
                    return Err(
                        self.err_line(i, SyntaxError::UnexpectedLine("entry row without a colon"))
                    );
                }
                self.pos += 1;
                continue;
            };
            if self.spans.len() == spans {
                self.spans.push(cd);
            }
            self.pos += 1;
            let key = parse_key(trim_sp(&text[..c])).map_err(|e| self.err_at(i, e))?;
            let cells = trim_sp(&text[c + 1..]);
            if cells.is_empty() {
                toks.clear();
            } else {
                split_cells(cells, h.delim, &mut toks);
            }
            let entry = self.row(i, fields, width, &toks)?;
            self.insert(&mut out, key, Value::Object(entry), i)?;
            count += 1;
        }
        self.spans.truncate(spans);
        self.check_count(idx, h.len, count)?;
        Ok(Value::Object(out))
    }

    fn row(&self, idx: usize, fields: &[FieldNode], width: usize, toks: &[&str]) -> Result<Map> {
        if self.strict && toks.len() != width {
            return Err(self.err_line(
                idx,
                SyntaxError::WidthMismatch {
                    expected: width,
                    found: toks.len(),
                },
            ));
        }
        let mut it = toks.iter();
        self.materialize(idx, fields, &mut it)
    }

    fn materialize(
        &self,
        idx: usize,
        fields: &[FieldNode],
        it: &mut std::slice::Iter<'_, &str>,
    ) -> Result<Map> {
        let mut m = Map::with_capacity(fields.len());
        for f in fields {
            let v = match &f.children {
                Some(c) => Value::Object(self.materialize(idx, c, it)?),
                None => match it.next() {
                    Some(t) => parse_primitive(t).map_err(|e| self.err_at(idx, e))?,
                    None => continue, // short row (non-strict): the field is absent
                },
            };
            m.insert(f.name.clone(), v);
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("05"), None);
        assert_eq!(parse_number("-0"), Some(0.into()));
        assert_eq!(parse_number("1e6"), Some(1_000_000.into()));
        assert_eq!(parse_number("1."), None);
        assert_eq!(parse_number(".5"), None);
        assert_eq!(parse_number("+1"), None);
        assert_eq!(parse_number("1e999"), None);
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX.into()));
    }

    #[test]
    fn error_positions() {
        let e = decode("a: 1\nb: \"x\\q\"", &DecodeOptions::default()).unwrap_err();
        assert_eq!(e.position(), Some((2, 6)));
        let e = decode("a:\n   b: 1", &DecodeOptions::default()).unwrap_err();
        assert_eq!(e.position(), Some((2, 1)));
    }

    #[test]
    fn depth_limit() {
        let mut s = String::new();
        for i in 0..300 {
            s.push_str(&" ".repeat(i * 2));
            s.push_str("a:\n");
        }
        let e = decode(&s, &DecodeOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Syntax {
                    kind: SyntaxError::TooDeep { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert!(decode(&s, &DecodeOptions::default().with_max_depth(400)).is_ok());
    }

    #[test]
    fn huge_declared_length_does_not_allocate() {
        let e = decode("x[999999999]: 1", &DecodeOptions::default()).unwrap_err();
        assert!(matches!(
            e,
            Error::Syntax {
                kind: SyntaxError::CountMismatch {
                    declared: 999_999_999,
                    found: 1
                },
                ..
            }
        ));
        let e = decode("x[99999999999999999999]: 1", &DecodeOptions::default()).unwrap_err();
        assert!(matches!(
            e,
            Error::Syntax {
                kind: SyntaxError::InvalidHeader(_),
                ..
            }
        ));
        let v = decode(
            "x[999999999]{a}:\n  1",
            &DecodeOptions::default().with_strict(false),
        )
        .unwrap();
        assert_eq!(
            serde_json::Value::from(v),
            serde_json::json!({"x": [{"a": 1}]})
        );
    }
}

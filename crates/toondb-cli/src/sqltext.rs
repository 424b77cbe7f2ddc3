//! Splitting SQL text into statements at top-level `;`, aware of quotes and comments.
//!
//! Used by the shell (a statement may span lines and is complete once its `;` arrives) and by
//! `toondb sql` (each statement's result is printed).

/// Lexer state carried across lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside a quoted string or identifier closed by this byte (`'`, `"`, `` ` ``, `]`).
    Quoted(u8),
    LineComment,
    BlockComment,
}

/// Splits `text` into complete statements (each without its `;`, trimmed, empty ones
/// dropped) and the trailing remainder that is not yet terminated by a `;` (trimmed).
///
/// The remainder is empty when the text ends with a complete statement or only whitespace
/// or comments.
#[cfg(test)]
pub fn split(text: &str) -> (Vec<String>, String) {
    let (stmts, rest) = split_spans(text);
    (stmts.into_iter().map(|p| p.text).collect(), rest.text)
}

/// A statement (or the unterminated remainder) and the byte offset where it starts in the
/// text it was split from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The statement, trimmed, without its `;`.
    pub text: String,
    /// Byte offset of `text` in the input.
    pub offset: usize,
}

/// Keywords seen at the top level of the statement being split, enough to know whether it
/// is a `CREATE [TEMP] TRIGGER`, whose body's `;`s do not end it: like sqlite3's
/// `sqlite3_complete`, such a statement ends at a `;` right after the keyword `END`.
#[derive(Debug, Default)]
struct Words {
    count: usize,
    create: bool,
    trigger: bool,
    last_end: bool,
    word: String,
}

impl Words {
    fn flush(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let w = std::mem::take(&mut self.word).to_ascii_lowercase();
        match self.count {
            0 => self.create = w == "create",
            1 | 2 if self.create && !self.trigger => {
                if w == "trigger" {
                    self.trigger = true;
                } else if !(self.count == 1 && (w == "temp" || w == "temporary")) {
                    self.create = false;
                }
            }
            _ => {}
        }
        self.count += 1;
        self.last_end = w == "end";
    }
    /// Another token (punctuation, a quoted string or name) follows.
    fn other(&mut self) {
        self.flush();
        self.last_end = false;
    }
    /// Whether a `;` here ends the statement.
    fn ends_at_semicolon(&mut self) -> bool {
        self.flush();
        !self.trigger || self.last_end
    }
}

/// [`split`], keeping where each statement starts (for error positions).
pub fn split_spans(text: &str) -> (Vec<Piece>, Piece) {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Normal;
    let mut start = 0;
    let mut i = 0;
    let mut words = Words::default();
    while i < bytes.len() {
        let c = bytes[i];
        match state {
            State::Normal => match c {
                b'\'' | b'"' | b'`' => {
                    words.other();
                    state = State::Quoted(c);
                }
                b'[' => {
                    words.other();
                    state = State::Quoted(b']');
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    words.flush();
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    words.flush();
                    state = State::BlockComment;
                    i += 1;
                }
                b';' => {
                    if words.ends_at_semicolon() {
                        push_statement(&mut out, text, start, i);
                        start = i + 1;
                        words = Words::default();
                    } else {
                        words.last_end = false;
                    }
                }
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                    words.word.push(char::from(c));
                }
                c if c.is_ascii_whitespace() => words.flush(),
                _ => words.other(),
            },
            // A doubled quote inside a quoted token is an escaped quote: closing then
            // reopening gives the same result, so no look-ahead is needed.
            State::Quoted(q) if c == q => state = State::Normal,
            State::Quoted(_) => {}
            State::LineComment if c == b'\n' => state = State::Normal,
            State::LineComment => {}
            State::BlockComment if c == b'*' && bytes.get(i + 1) == Some(&b'/') => {
                state = State::Normal;
                i += 1;
            }
            State::BlockComment => {}
        }
        i += 1;
    }
    let rest = &text[start..];
    let rest = if is_blank(rest) {
        Piece {
            text: String::new(),
            offset: text.len(),
        }
    } else {
        Piece {
            text: rest.trim().to_string(),
            offset: start + (rest.len() - rest.trim_start().len()),
        }
    };
    (out, rest)
}

fn push_statement(out: &mut Vec<Piece>, text: &str, start: usize, end: usize) {
    let s = &text[start..end];
    if !is_blank(s) {
        out.push(Piece {
            text: s.trim().to_string(),
            offset: start + (s.len() - s.trim_start().len()),
        });
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The input position of position `rel` (line, column) inside a text that starts at input
/// position `base`.
pub fn shift(base: (usize, usize), rel: (usize, usize)) -> (usize, usize) {
    let line = base.0 + rel.0.saturating_sub(1);
    let col = if rel.0 <= 1 {
        base.1 + rel.1.saturating_sub(1)
    } else {
        rel.1
    };
    (line, col)
}

/// How many positional parameters a statement uses: the number of bare `?` or the highest
/// `?N`, whichever is larger (as the SQL engine counts them). Quotes and comments are
/// skipped.
pub fn param_count(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut state = State::Normal;
    let (mut anon, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match state {
            State::Normal => match c {
                b'\'' | b'"' | b'`' => state = State::Quoted(c),
                b'[' => state = State::Quoted(b']'),
                b'-' if b.get(i + 1) == Some(&b'-') => state = State::LineComment,
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b'?' => {
                    let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
                    if digits == 0 {
                        anon += 1;
                    } else {
                        let n = sql[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX);
                        max = max.max(n);
                        i += digits;
                    }
                }
                _ => {}
            },
            State::Quoted(q) if c == q => state = State::Normal,
            State::Quoted(_) => {}
            State::LineComment if c == b'\n' => state = State::Normal,
            State::LineComment => {}
            State::BlockComment if c == b'*' && b.get(i + 1) == Some(&b'/') => {
                state = State::Normal;
                i += 1;
            }
            State::BlockComment => {}
        }
        i += 1;
    }
    anon.max(max)
}

/// The first keyword of a statement (upper-cased), after comments and opening parentheses.
pub fn first_keyword(sql: &str) -> String {
    let mut s = sql;
    loop {
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(r) = t.strip_prefix("--") {
            s = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = t.strip_prefix("/*") {
            s = r.split_once("*/").map_or("", |(_, r)| r);
        } else {
            s = t;
            break;
        }
    }
    s.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// True when `s` holds only whitespace, complete comments and a final `--` comment.
fn is_blank(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            match b[i..].iter().position(|&c| c == b'\n') {
                Some(p) => i += p + 1,
                None => return true,
            }
        } else if b[i..].starts_with(b"/*") {
            // An unterminated block comment may continue on the next line: not blank.
            match s[i + 2..].find("*/") {
                Some(p) => i += p + 4,
                None => return false,
            }
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_positions_and_parameters() {
        let text = "select 1;\n  selec 2; select\n 3";
        let (stmts, rest) = split_spans(text);
        assert_eq!(stmts[1].text, "selec 2");
        assert_eq!(position(text, stmts[1].offset), (2, 3));
        assert_eq!(rest.text, "select\n 3");
        assert_eq!(position(text, rest.offset), (2, 12));
        assert_eq!(shift((2, 3), (1, 1)), (2, 3));
        assert_eq!(shift((2, 3), (2, 4)), (3, 4));
        assert_eq!(param_count("select ?, '?', ? -- ?\n"), 2);
        assert_eq!(param_count("select ?3, ?1 /* ?9 */"), 3);
        assert_eq!(param_count("select 1"), 0);
        assert_eq!(first_keyword("  -- hi\n /* x */ (select 1)"), "SELECT");
        assert_eq!(first_keyword("with x as (select 1) delete"), "WITH");
    }

    #[test]
    fn a_trigger_body_keeps_its_semicolons_until_end() {
        let (stmts, rest) = split(
            "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO l VALUES (';'); \
             UPDATE x SET n = n + 1; END; SELECT 1; create trigger u before delete on a \
             begin select raise(abort, 'no'); end",
        );
        assert_eq!(
            stmts,
            [
                "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO l VALUES (';'); \
                 UPDATE x SET n = n + 1; END",
                "SELECT 1"
            ]
        );
        assert_eq!(
            rest,
            "create trigger u before delete on a begin select raise(abort, 'no'); end"
        );
        // Not a trigger: "end" as a name, "trigger" later in the statement.
        let (stmts, _) =
            split("CREATE TABLE trigger(x); SELECT 'trigger'; CREATE VIEW v AS SELECT 1 AS end;");
        assert_eq!(stmts.len(), 3);
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let (stmts, rest) = split("select 'a;b'; select \"x;\" from t -- c;\n; select 1");
        assert_eq!(stmts, vec!["select 'a;b'", "select \"x;\" from t -- c;"]);
        assert_eq!(rest, "select 1");
    }

    #[test]
    fn escaped_quotes_and_block_comments() {
        let (stmts, rest) = split("insert into t values ('it''s;'); /* ; */ select [a;b];");
        assert_eq!(
            stmts,
            vec!["insert into t values ('it''s;')", "/* ; */ select [a;b]"]
        );
        assert_eq!(rest, "");
    }

    #[test]
    fn blank_and_comment_only_remainders_are_empty() {
        assert_eq!(
            split("  ;; -- only a comment"),
            (Vec::<String>::new(), String::new())
        );
        assert_eq!(
            split("select 1; /* a */"),
            (vec!["select 1".to_string()], String::new())
        );
        assert_eq!(
            split("select 1; /* open"),
            (vec!["select 1".to_string()], "/* open".to_string())
        );
        assert_eq!(
            split("select 'open;"),
            (Vec::<String>::new(), "select 'open;".to_string())
        );
    }
}

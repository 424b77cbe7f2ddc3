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
pub fn split(text: &str) -> (Vec<String>, String) {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Normal;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match state {
            State::Normal => match c {
                b'\'' | b'"' | b'`' => state = State::Quoted(c),
                b'[' => state = State::Quoted(b']'),
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b';' => {
                    push_statement(&mut out, &text[start..i]);
                    start = i + 1;
                }
                _ => {}
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
        String::new()
    } else {
        rest.trim().to_string()
    };
    (out, rest)
}

fn push_statement(out: &mut Vec<String>, s: &str) {
    if !is_blank(s) {
        out.push(s.trim().to_string());
    }
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
    use super::split;

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

//! Parse stage: SQL text to sqlparser statements, with the size limits that keep every later
//! stage's recursion bounded.
//!
//! Two limits make "no SQL text can overflow the stack" hold for the binder, planner,
//! executor, and for sqlparser's own recursive `Display` and `Drop` of the AST:
//! - prefix nesting (parentheses, subqueries, `NOT`, unary minus) is capped by the parser's
//!   recursion limit ([`MAX_NESTING`]);
//! - operator chains such as `1+1+...` (which sqlparser builds iteratively into a tree as deep
//!   as the chain is long) are capped by a token pre-scan at [`MAX_EXPR_DEPTH`], SQLite's
//!   default for the same limit, before the tree is built.
//!
//! Statements are also run on a stack the engine chooses (see [`with_sql_stack`]).

use sqlparser::ast::Statement;
use sqlparser::dialect::{GenericDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// Parser recursion limit: nesting of parentheses, subqueries and prefix operators.
pub const MAX_NESTING: usize = 64;

/// Maximum depth of an expression tree (SQLite's `SQLITE_MAX_EXPR_DEPTH` default).
pub const MAX_EXPR_DEPTH: usize = 1000;

/// Stack the engine wants available while it works on one statement.
const STATEMENT_STACK_MIN: usize = 4 * 1024 * 1024;
/// Size of the stack it switches to when the caller's thread has less than that left.
const STATEMENT_STACK: usize = 32 * 1024 * 1024;

/// Runs `f` (one statement's parse, plan and execution) with at least 4 MiB of stack,
/// switching to a fresh 32 MiB stack when the calling thread has less left. Deep recursion
/// further down grows the stack in segments as well (see `planner::STACK_GROW`).
pub fn with_sql_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(STATEMENT_STACK_MIN, STATEMENT_STACK, f)
}

fn too_deep_nesting() -> Error {
    Error::TooBig(format!(
        "expression nesting too deep: more than {MAX_NESTING} levels of parentheses, \
         subqueries or prefix operators (NOT, -)"
    ))
}

/// Parses SQL text into statements (generic dialect, SQLite dialect as fallback).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    check_expr_depth(sql)?;
    let rewritten = rewrite_exclude(sql);
    let sql = rewritten.as_deref().unwrap_or(sql);
    let generic = Parser::new(&GenericDialect {})
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    match generic {
        Ok(s) => Ok(s),
        Err(ParserError::RecursionLimitExceeded) => Err(too_deep_nesting()),
        Err(e) => {
            if nesting_exceeded(sql) {
                return Err(too_deep_nesting());
            }
            let sqlite = Parser::new(&SQLiteDialect {})
                .with_recursion_limit(MAX_NESTING)
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_statements());
            match sqlite {
                Ok(s) => Ok(s),
                Err(ParserError::RecursionLimitExceeded) => Err(too_deep_nesting()),
                Err(_) => {
                    let mut message = e.to_string();
                    if !message.contains("Line:") {
                        let line = sql.lines().count().max(1);
                        let col = sql.lines().last().map_or(0, |l| l.chars().count()) + 1;
                        message
                            .push_str(&format!(" at end of input (Line: {line}, Column: {col})"));
                    }
                    Err(Error::Syntax { message })
                }
            }
        }
    }
}

/// Parses exactly one statement.
pub fn parse_one(sql: &str) -> Result<Statement> {
    let mut v = parse(sql)?;
    if v.len() != 1 {
        return Err(Error::Syntax {
            message: format!("expected exactly one statement, found {}", v.len()),
        });
    }
    Ok(v.remove(0))
}

/// Parses one expression (column defaults) under the same limits.
pub fn parse_expr(sql: &str) -> Result<sqlparser::ast::Expr> {
    check_expr_depth(sql)?;
    Parser::new(&GenericDialect {})
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| match e {
            ParserError::RecursionLimitExceeded => too_deep_nesting(),
            e => Error::Syntax {
                message: e.to_string(),
            },
        })
}

/// Carries window frames' `EXCLUDE ...` clauses, which sqlparser does not parse, into the
/// window specification's name: `OVER ([w] ... ROWS ... EXCLUDE TIES)` becomes
/// `OVER ("\u{1}ties\u{1}w" ... ROWS ...)`; the planner splits the name again (see
/// `planner::EXCLUDE_MARK`). Returns None when the text has no such clause.
fn rewrite_exclude(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword as K;
    use sqlparser::tokenizer::Word;
    if !sql.to_ascii_lowercase().contains("exclude") {
        return None;
    }
    let tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize().ok()?;
    let is = |i: Option<&usize>, k: &str| {
        i.and_then(|&i| tokens.get(i)).is_some_and(
            |t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k)),
        )
    };
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let mut dropped = vec![false; tokens.len()];
    let mut marks: Vec<(usize, &str)> = Vec::new();
    let mut opens: Vec<usize> = Vec::new();
    for (p, &i) in sig.iter().enumerate() {
        match &tokens[i] {
            Token::LParen => opens.push(i),
            Token::RParen => {
                opens.pop();
            }
            _ => {}
        }
        let after_bound = p > 0
            && ["preceding", "following", "row"]
                .iter()
                .any(|k| is(sig.get(p - 1), k));
        if !is(Some(&i), "exclude") || !after_bound {
            continue;
        }
        let (mode, words) = if is(sig.get(p + 1), "no") && is(sig.get(p + 2), "others") {
            ("no others", 2)
        } else if is(sig.get(p + 1), "current") && is(sig.get(p + 2), "row") {
            ("current row", 2)
        } else if is(sig.get(p + 1), "group") {
            ("group", 1)
        } else if is(sig.get(p + 1), "ties") {
            ("ties", 1)
        } else {
            continue;
        };
        let Some(&open) = opens.last() else { continue };
        for &j in &sig[p..=p + words] {
            dropped[j] = true;
        }
        if mode != "no others" {
            marks.push((open, mode));
        }
    }
    if !dropped.contains(&true) {
        return None;
    }
    let marker = |mode: &str, base: &str| {
        Token::Word(Word {
            value: format!("\u{1}{mode}\u{1}{base}"),
            quote_style: Some('"'),
            keyword: K::NoKeyword,
        })
    };
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len() + 2);
    let mut replace: Vec<(usize, Token)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if dropped[i] {
            continue;
        }
        if let Some(pos) = replace.iter().position(|(j, _)| *j == i) {
            out.push(replace.swap_remove(pos).1);
            continue;
        }
        out.push(t.clone());
        if let Some((_, mode)) = marks.iter().find(|(o, _)| *o == i) {
            let next = sig.iter().copied().find(|&j| j > i);
            match next.map(|j| (j, &tokens[j])) {
                Some((j, Token::Word(w)))
                    if !matches!(
                        w.keyword,
                        K::PARTITION | K::ORDER | K::ROWS | K::RANGE | K::GROUPS
                    ) =>
                {
                    replace.push((j, marker(mode, &w.value)));
                }
                _ => {
                    out.push(marker(mode, ""));
                    out.push(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
                }
            }
        }
    }
    Some(out.iter().map(ToString::to_string).collect())
}

fn is_binary_operator(t: &Token) -> bool {
    use sqlparser::keywords::Keyword as K;
    match t {
        Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::Eq
        | Token::DoubleEq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Ampersand
        | Token::Pipe
        | Token::ShiftLeft
        | Token::ShiftRight
        | Token::Caret => true,
        Token::Word(w) => matches!(
            w.keyword,
            K::AND | K::OR | K::IS | K::LIKE | K::GLOB | K::BETWEEN | K::IN | K::COLLATE
        ),
        _ => false,
    }
}

/// Refuses text whose operator chains could build an expression tree deeper than
/// [`MAX_EXPR_DEPTH`]. The bound is conservative: per parenthesis level, the operators of one
/// comma-separated item plus the deepest parenthesised child inside it. A statement shorter
/// than twice the limit cannot reach it (each operator needs an operand), so short statements
/// skip the scan.
fn check_expr_depth(sql: &str) -> Result<()> {
    if sql.len() < 2 * MAX_EXPR_DEPTH {
        return Ok(());
    }
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // The parser reports the tokenizer error itself.
        return Ok(());
    };
    struct Level {
        ops: usize,
        child: usize,
        best: usize,
    }
    let too_large = || {
        Err(Error::TooBig(format!(
            "Expression tree is too large (maximum depth {MAX_EXPR_DEPTH})"
        )))
    };
    let mut levels = vec![Level {
        ops: 0,
        child: 0,
        best: 0,
    }];
    for t in &tokens {
        match t {
            Token::LParen => levels.push(Level {
                ops: 0,
                child: 0,
                best: 0,
            }),
            Token::RParen if levels.len() > 1 => {
                if let Some(l) = levels.pop() {
                    let d = l.best.max(l.ops + l.child + 1);
                    if let Some(p) = levels.last_mut() {
                        p.child = p.child.max(d);
                    }
                }
            }
            Token::Comma | Token::SemiColon => {
                if let Some(l) = levels.last_mut() {
                    l.best = l.best.max(l.ops + l.child + 1);
                    l.ops = 0;
                    l.child = 0;
                }
            }
            t if is_binary_operator(t) => {
                if let Some(l) = levels.last_mut() {
                    l.ops += 1;
                }
            }
            _ => {}
        }
        if let Some(l) = levels.last() {
            if l.ops + l.child + 1 > MAX_EXPR_DEPTH {
                return too_large();
            }
        }
    }
    Ok(())
}

/// Whether the text nests parentheses or prefix operators deeper than the parser accepts
/// (checked after a parse error, so the error names the limit, not a confusing token).
fn nesting_exceeded(sql: &str) -> bool {
    use sqlparser::keywords::Keyword as K;
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return false;
    };
    let mut parens = 0usize;
    let mut prefix_run = 0usize;
    for t in &tokens {
        match t {
            Token::Whitespace(_) => continue,
            Token::LParen => parens += 1,
            Token::RParen => parens = parens.saturating_sub(1),
            _ => {}
        }
        let is_prefix = matches!(t, Token::Minus | Token::Plus | Token::Tilde)
            || matches!(t, Token::Word(w) if w.keyword == K::NOT);
        prefix_run = if is_prefix { prefix_run + 1 } else { 0 };
        if parens + prefix_run >= MAX_NESTING {
            return true;
        }
    }
    false
}

/// Parameters a statement uses, from the tokenizer: `(at least, at most)`. The anonymous `?`
/// count and the highest `?N` / `$N` give the lower bound (their maximum) and the upper bound
/// (their sum); the two agree unless a statement mixes both styles.
pub(crate) fn count_params(sql: &str) -> (usize, usize) {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return (0, usize::MAX);
    };
    let mut anon = 0;
    let mut max = 0;
    for t in tokens {
        if let Token::Placeholder(p) = t {
            if p == "?" {
                anon += 1;
            } else if let Ok(n) = p.trim_start_matches(['?', '$']).parse::<usize>() {
                max = max.max(n);
            }
        }
    }
    (anon.max(max), anon + max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_clauses_move_into_the_window_name() {
        let r = rewrite_exclude(
            "SELECT sum(x) OVER (ORDER BY x ROWS 1 PRECEDING EXCLUDE TIES), \
             sum(x) OVER (w ROWS CURRENT ROW EXCLUDE NO OTHERS) FROM t",
        )
        .unwrap_or_default();
        assert!(r.contains("OVER (\"\u{1}ties\u{1}\" ORDER BY"), "{r}");
        assert!(!r.to_ascii_lowercase().contains("exclude"), "{r}");
        assert!(r.contains("OVER (w ROWS"), "{r}");
        let g = rewrite_exclude("SELECT f() OVER (w ROWS 2 PRECEDING EXCLUDE GROUP) FROM t")
            .unwrap_or_default();
        assert!(g.contains("\"\u{1}group\u{1}w\""), "{g}");
        assert_eq!(rewrite_exclude("SELECT 'exclude' FROM t"), None);
    }

    #[test]
    fn operator_chains_are_bounded_before_parsing() {
        let ok = format!("SELECT {}", vec!["1"; MAX_EXPR_DEPTH].join("+"));
        assert!(check_expr_depth(&ok).is_ok());
        let bad = format!("SELECT {}", vec!["1"; MAX_EXPR_DEPTH + 1].join("+"));
        assert!(matches!(check_expr_depth(&bad), Err(Error::TooBig(_))));
        // Parentheses add their inner depth to the chain around them.
        let inner = vec!["1"; 600].join("+");
        let nested = format!("SELECT ({inner}) + {}", vec!["1"; 600].join("+"));
        assert!(matches!(check_expr_depth(&nested), Err(Error::TooBig(_))));
        // Commas separate independent expressions.
        let list = format!("SELECT {}", vec!["1+1"; 5000].join(", "));
        assert!(check_expr_depth(&list).is_ok());
    }
}

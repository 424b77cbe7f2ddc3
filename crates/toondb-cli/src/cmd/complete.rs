//! Tab completion for the interactive shell: dot-commands, formats, table names and SQL
//! keywords.

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::db;

use super::shell::DOT_COMMANDS;
use crate::output::FORMAT_NAMES;

const KEYWORDS: &[&str] = &[
    "AND", "AS", "ASC", "BEGIN", "BETWEEN", "BUDGET", "BY", "COMMIT", "CONTEXT", "COUNT", "CREATE",
    "DELETE", "DESC", "DISTINCT", "DROP", "EXPLAIN", "FROM", "GROUP", "HAVING", "INDEX", "INSERT",
    "INTEGER", "INTO", "JOIN", "LEFT", "LIKE", "LIMIT", "METADATA", "NOT", "NULL", "OFFSET", "ON",
    "OR", "ORDER", "PRIMARY", "KEY", "REAL", "ROLLBACK", "SEARCH", "SELECT", "SET", "SYSTEM",
    "TABLE", "TEXT", "UPDATE", "VALUES", "VIEW", "WHERE", "WITH",
];

/// The rustyline helper: completes from the live catalog of `db`.
pub struct Completion {
    /// The shell's database (catalog read on each completion).
    pub db: toondb::Database,
}

/// Completion candidates for the text before the cursor, given the table names: the byte
/// position where the completed word starts, and the candidates.
pub fn candidates(before: &str, tables: &[String]) -> (usize, Vec<String>) {
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let head = before.trim_start();
    let matching = |items: &mut dyn Iterator<Item = String>| -> Vec<String> {
        let mut v: Vec<String> = items
            .filter(|s| s.to_lowercase().starts_with(&word.to_lowercase()))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if head.starts_with('.') && !head.contains(char::is_whitespace) {
        return (
            start,
            matching(&mut DOT_COMMANDS.iter().map(|s| s.to_string())),
        );
    }
    if head.starts_with(".format ") || head.starts_with(".mode ") {
        return (
            start,
            matching(&mut FORMAT_NAMES.iter().map(|s| s.to_string())),
        );
    }
    if head.starts_with(".schema ") || head.starts_with(".indexes ") || head.starts_with(".dump ") {
        return (start, matching(&mut tables.iter().cloned()));
    }
    if head.starts_with('.') || word.is_empty() {
        return (start, Vec::new());
    }
    let lower = word.chars().all(|c| !c.is_uppercase());
    let mut all = tables.iter().cloned().chain(KEYWORDS.iter().map(|k| {
        if lower {
            k.to_lowercase()
        } else {
            k.to_string()
        }
    }));
    (start, matching(&mut all))
}

impl Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        // A catalog that cannot be read just means no table names to offer.
        let tables: Vec<String> = db::load_catalog(&self.db)
            .map(|c| {
                c.tables
                    .values()
                    .map(|t| t.name.clone())
                    .chain(c.views.values().map(|v| v.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(candidates(line.get(..pos).unwrap_or(line), &tables))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn completes_commands_formats_tables_and_keywords() {
        let t = vec!["passages".to_string(), "people".to_string()];
        assert_eq!(candidates(".sc", &t), (0, vec![".schema".to_string()]));
        assert_eq!(
            candidates(".format t", &t),
            (8, vec!["table".to_string(), "toon".to_string()])
        );
        assert_eq!(
            candidates(".schema pa", &t),
            (8, vec!["passages".to_string()])
        );
        assert_eq!(
            candidates("SELECT * FROM pe", &t),
            (14, vec!["people".to_string()])
        );
        assert_eq!(candidates("sel", &t), (0, vec!["select".to_string()]));
        assert_eq!(candidates("SEL", &t), (0, vec!["SELECT".to_string()]));
        assert_eq!(candidates("select é", &t), (7, Vec::<String>::new()));
        assert_eq!(candidates("select ", &t), (7, Vec::<String>::new()));
    }
}

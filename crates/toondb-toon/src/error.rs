//! The crate's error type.

use std::fmt;

/// Errors from decoding, encoding and streaming TOON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TOON text is invalid (a strict-mode violation or an unrecoverable syntax error).
    /// `line` and `column` are 1-based; the column counts Unicode scalar values.
    #[error("line {line}, column {column}: {kind}")]
    Syntax {
        /// 1-based line number in the input.
        line: usize,
        /// 1-based column (in characters) on that line.
        column: usize,
        /// What is wrong.
        kind: SyntaxError,
    },
    /// A caller-supplied argument is invalid (e.g. a zero indent size, a row of the wrong
    /// width given to the streaming encoder).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The streaming encoder was finished with a row count different from the declared one.
    #[error("row count mismatch: header declared {declared} rows, {written} were written")]
    RowCountMismatch {
        /// The `N` written in the header.
        declared: usize,
        /// Rows actually written.
        written: usize,
    },
    /// An I/O error from the underlying writer.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The `(line, column)` of a syntax error, if this is one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Error::Syntax { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// The kinds of invalid TOON input (spec §14 and unrecoverable syntax errors).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxError {
    /// An inline array, list, tabular array or keyed object has a different number of
    /// values/items/rows/entries than its header declares (§14.1).
    CountMismatch {
        /// Declared `N`.
        declared: u64,
        /// Found.
        found: u64,
    },
    /// A tabular row or entry row has a different number of cells than leaf fields (§14.1).
    WidthMismatch {
        /// Leaf-field count.
        expected: usize,
        /// Cells found.
        found: usize,
    },
    /// A key is not followed by a colon (§14.2).
    MissingColon,
    /// An escape sequence other than `\\ \" \n \r \t \uXXXX` (§7.1).
    InvalidEscape,
    /// `\u` escape naming a lone surrogate (§7.1).
    LoneSurrogate,
    /// A quoted string without its closing quote.
    UnterminatedString,
    /// Characters after the closing quote of a quoted token.
    TrailingAfterQuote,
    /// A malformed array or keyed header (§6): the text says which part.
    InvalidHeader(&'static str),
    /// The fields segment uses a different delimiter than the bracket segment (§6).
    DelimiterMismatch,
    /// Content after the colon of a fields-bearing header (§6).
    ContentAfterHeader,
    /// A keyless header where only a keyed one is allowed (§6, §14.2).
    MisplacedKeylessHeader,
    /// Leading spaces not a multiple of the indent size (§12).
    InvalidIndentation {
        /// Leading spaces found.
        spaces: usize,
        /// Configured indent size.
        indent: usize,
    },
    /// A tab used as indentation (§12).
    TabIndentation,
    /// A line deeper than its enclosing scope allows (§8, §14.2).
    UnexpectedIndentation,
    /// A blank line inside an array span (§12).
    BlankLineInArray,
    /// A line that is neither a field, a list item nor a row where one was expected.
    UnexpectedLine(&'static str),
    /// Content after a complete root array or keyed root object (§5).
    TrailingContent,
    /// Duplicate sibling key (§14.3).
    DuplicateKey(String),
    /// Nesting deeper than [`crate::DecodeOptions::max_depth`].
    TooDeep {
        /// The configured limit.
        max_depth: usize,
    },
    /// Ill-formed UTF-8 in byte input (§4).
    InvalidUtf8,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::CountMismatch { declared, found } => {
                write!(f, "header declares {declared} items but {found} were found")
            }
            SyntaxError::WidthMismatch { expected, found } => {
                write!(
                    f,
                    "row has {found} cells but the header has {expected} fields"
                )
            }
            SyntaxError::MissingColon => f.write_str("missing colon after key"),
            SyntaxError::InvalidEscape => f.write_str("invalid escape sequence"),
            SyntaxError::LoneSurrogate => f.write_str("\\u escape names a lone surrogate"),
            SyntaxError::UnterminatedString => f.write_str("unterminated quoted string"),
            SyntaxError::TrailingAfterQuote => {
                f.write_str("unexpected characters after closing quote")
            }
            SyntaxError::InvalidHeader(what) => write!(f, "invalid array header: {what}"),
            SyntaxError::DelimiterMismatch => {
                f.write_str("fields segment delimiter differs from the bracket delimiter")
            }
            SyntaxError::ContentAfterHeader => {
                f.write_str("unexpected content after the colon of a tabular header")
            }
            SyntaxError::MisplacedKeylessHeader => {
                f.write_str("keyless array header is not allowed here")
            }
            SyntaxError::InvalidIndentation { spaces, indent } => {
                write!(
                    f,
                    "indentation of {spaces} spaces is not a multiple of {indent}"
                )
            }
            SyntaxError::TabIndentation => f.write_str("tab used for indentation"),
            SyntaxError::UnexpectedIndentation => {
                f.write_str("line is indented deeper than its scope allows")
            }
            SyntaxError::BlankLineInArray => f.write_str("blank line inside an array"),
            SyntaxError::UnexpectedLine(what) => write!(f, "unexpected line: {what}"),
            SyntaxError::TrailingContent => f.write_str("content after the end of the root value"),
            SyntaxError::DuplicateKey(k) => write!(f, "duplicate key {k:?}"),
            SyntaxError::TooDeep { max_depth } => {
                write!(f, "nesting deeper than the limit of {max_depth}")
            }
            SyntaxError::InvalidUtf8 => f.write_str("invalid UTF-8"),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

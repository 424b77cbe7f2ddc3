//! Encoder and decoder options (§13).

use std::fmt;
use std::str::FromStr;

/// The delimiter separating inline array values and tabular cells (§11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Delimiter {
    /// `,` (default; the header carries no delimiter symbol).
    #[default]
    Comma,
    /// HTAB (U+0009).
    Tab,
    /// `|`.
    Pipe,
}

impl Delimiter {
    /// All delimiters.
    pub const ALL: [Delimiter; 3] = [Delimiter::Comma, Delimiter::Tab, Delimiter::Pipe];

    /// The delimiter character.
    pub fn as_char(self) -> char {
        match self {
            Delimiter::Comma => ',',
            Delimiter::Tab => '\t',
            Delimiter::Pipe => '|',
        }
    }

    /// The delimiter byte.
    pub fn as_byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Tab => b'\t',
            Delimiter::Pipe => b'|',
        }
    }

    /// The symbol written inside a header's brackets (empty for comma).
    pub fn header_symbol(self) -> &'static str {
        match self {
            Delimiter::Comma => "",
            Delimiter::Tab => "\t",
            Delimiter::Pipe => "|",
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delimiter::Comma => "comma",
            Delimiter::Tab => "tab",
            Delimiter::Pipe => "pipe",
        })
    }
}

impl FromStr for Delimiter {
    type Err = crate::Error;

    /// Accepts `comma`/`,`, `tab`/`\t`, `pipe`/`|`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "comma" | "," => Ok(Delimiter::Comma),
            "tab" | "\t" => Ok(Delimiter::Tab),
            "pipe" | "|" => Ok(Delimiter::Pipe),
            other => Err(crate::Error::InvalidArgument(format!(
                "unknown delimiter {other:?} (expected comma, tab or pipe)"
            ))),
        }
    }
}

/// Encoder options (§13: `indentSize`, `delimiter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Spaces per indentation level (default 2; must be at least 1).
    pub indent: usize,
    /// The document delimiter, also used by every array header the encoder writes.
    pub delimiter: Delimiter,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            indent: 2,
            delimiter: Delimiter::Comma,
        }
    }
}

impl EncodeOptions {
    /// Sets the indent size.
    pub fn with_indent(mut self, indent: usize) -> Self {
        self.indent = indent;
        self
    }

    /// Sets the delimiter.
    pub fn with_delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// Default bound on nesting depth for the decoder.
pub const DEFAULT_MAX_DEPTH: usize = 256;

/// Decoder options (§13: `indentSize`, `strict`), plus a nesting limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Spaces per indentation level (default 2; must be at least 1).
    pub indent: usize,
    /// Strict mode (default `true`): enforce every check of §14.
    pub strict: bool,
    /// Maximum nesting of objects, arrays and nested field groups (default 256). Deeper
    /// input is rejected with [`crate::SyntaxError::TooDeep`] instead of exhausting the stack.
    pub max_depth: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            indent: 2,
            strict: true,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl DecodeOptions {
    /// Sets the indent size.
    pub fn with_indent(mut self, indent: usize) -> Self {
        self.indent = indent;
        self
    }

    /// Sets strict mode.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets the nesting limit.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

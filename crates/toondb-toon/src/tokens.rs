//! LLM token counting: exact counts with OpenAI's BPE tables, and a fast estimator.
//!
//! The exact counters use `tiktoken-rs`, which embeds the `o200k_base` and `cl100k_base`
//! tables in the binary (`include_str!`): nothing is downloaded at run time. Each table is
//! parsed once, on first use, and cached in a `OnceLock`.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// A BPE tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tokenizer {
    /// `o200k_base` (GPT-4o, GPT-4.1, o-series).
    O200k,
    /// `cl100k_base` (GPT-4, GPT-3.5).
    Cl100k,
}

impl Tokenizer {
    /// Both tokenizers.
    pub const ALL: [Tokenizer; 2] = [Tokenizer::O200k, Tokenizer::Cl100k];

    /// The table's name, e.g. `o200k_base`.
    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::O200k => "o200k_base",
            Tokenizer::Cl100k => "cl100k_base",
        }
    }

    fn bpe(self) -> &'static CoreBPE {
        static O200K: OnceLock<CoreBPE> = OnceLock::new();
        static CL100K: OnceLock<CoreBPE> = OnceLock::new();
        // The tables are compile-time constants shipped inside tiktoken-rs; parsing them
        // fails only if that crate is broken, which the unit tests below would catch.
        match self {
            Tokenizer::O200k => O200K.get_or_init(|| {
                tiktoken_rs::o200k_base().expect("embedded o200k_base table parses")
            }),
            Tokenizer::Cl100k => CL100K.get_or_init(|| {
                tiktoken_rs::cl100k_base().expect("embedded cl100k_base table parses")
            }),
        }
    }
}

/// Exact number of tokens of `text` (ordinary text; special-token strings are counted as
/// plain text).
///
/// ```
/// use toondb_toon::{count_tokens, Tokenizer};
/// assert_eq!(count_tokens("hello world", Tokenizer::O200k), 2);
/// assert_eq!(count_tokens("", Tokenizer::Cl100k), 0);
/// ```
pub fn count_tokens(text: &str, tokenizer: Tokenizer) -> usize {
    tokenizer.bpe().encode_ordinary(text).len()
}

/// A fast token estimate (no tables, one pass over the text), tuned for `o200k_base` on
/// JSON and TOON. Measured error: see `examples/savings.rs` and the crate's docs.
///
/// Rules: a run of ASCII letters costs one token per 8 letters (rounded up); a run of
/// digits one token per 3 digits; each ASCII punctuation character one token, except
/// that runs of up to three (`":"`, `",`, `{"` …) share one; a newline plus the
/// following indentation one token; a lone space before a word is free; other whitespace
/// one token per 4 characters; each non-ASCII character half a token.
///
/// ```
/// use toondb_toon::estimate_tokens;
/// assert!(estimate_tokens("hello world") >= 1);
/// ```
pub fn estimate_tokens(text: &str) -> usize {
    const LETTERS_PER_TOKEN: usize = 8;
    const PUNCT_RUN: usize = 3;
    let b = text.as_bytes();
    let mut halves = 0usize; // in units of half-tokens
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() {
            let s = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            halves += 2 * (i - s).div_ceil(LETTERS_PER_TOKEN);
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            halves += 2 * (i - s).div_ceil(3);
        } else if c == b'\n' {
            i += 1;
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            halves += 2;
        } else if c == b' ' {
            let s = i;
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            let n = i - s;
            let before_word = i < b.len() && b[i].is_ascii_alphanumeric();
            if n > 1 || !before_word {
                halves += 2 * n.div_ceil(4);
            }
        } else if c.is_ascii() {
            i += 1;
            // Runs such as `":"` `",` `{"` `"}` `],` merge into one token.
            let mut run = 1;
            while run < PUNCT_RUN && i < b.len() && b[i].is_ascii_punctuation() {
                i += 1;
                run += 1;
            }
            halves += 2;
        } else {
            // Non-ASCII: count characters (leading bytes), half a token each.
            i += 1;
            while i < b.len() && (b[i] & 0xC0) == 0x80 {
                i += 1;
            }
            halves += 1;
        }
    }
    halves.div_ceil(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_known_values() {
        // Reference counts from OpenAI's tiktoken.
        assert_eq!(count_tokens("hello world", Tokenizer::O200k), 2);
        assert_eq!(count_tokens("hello world", Tokenizer::Cl100k), 2);
        assert_eq!(
            count_tokens(
                "The quick brown fox jumps over the lazy dog.",
                Tokenizer::Cl100k
            ),
            10
        );
        let a = count_tokens("{\"id\": 1, \"name\": \"Ada\"}", Tokenizer::O200k);
        assert!(a > 5 && a < 20, "{a}");
    }

    #[test]
    fn estimator_is_in_the_right_range() {
        let text = "users[2]{id,name,role}:\n  1,Ada,admin\n  2,Bob,user";
        let exact = count_tokens(text, Tokenizer::O200k) as f64;
        let est = estimate_tokens(text) as f64;
        assert!((est - exact).abs() / exact < 0.5, "est {est} exact {exact}");
        assert_eq!(estimate_tokens(""), 0);
    }
}

//! Keyword search support: the analyzer (tokenizer) and BM25 scoring.
//!
//! Analyzer: split on every character that is not alphanumeric (Unicode), lower-case each
//! piece, drop a small English stop-word list and terms longer than [`MAX_TERM_BYTES`].

use std::collections::BTreeMap;

/// Terms longer than this (in UTF-8 bytes) are ignored.
pub const MAX_TERM_BYTES: usize = 64;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Splits `text` into indexable terms (lower-cased, stop words removed), in order, with
/// repetitions.
///
/// ```
/// assert_eq!(toondb::tokenize("The Quick-brown fox, the FOX!"), vec!["quick", "brown", "fox", "fox"]);
/// ```
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w.len() <= MAX_TERM_BYTES && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Term frequencies of `text` and its length in terms.
pub(crate) fn term_freqs(text: &str) -> (BTreeMap<String, u32>, u32) {
    let mut tf = BTreeMap::new();
    let mut len = 0u32;
    for t in tokenize(text) {
        *tf.entry(t).or_insert(0u32) += 1;
        len = len.saturating_add(1);
    }
    (tf, len)
}

/// BM25 parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation. Default 1.2.
    pub k1: f32,
    /// Length normalisation. Default 0.75.
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

impl Bm25Params {
    /// BM25 contribution of one term in one document.
    pub(crate) fn score(&self, tf: u32, doc_len: u32, avg_len: f32, df: u64, n_docs: u64) -> f32 {
        let n = n_docs as f32;
        let df = df as f32;
        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
        let tf = tf as f32;
        let norm = 1.0 - self.b + self.b * (doc_len as f32) / avg_len.max(1e-6);
        idf * tf * (self.k1 + 1.0) / (tf + self.k1 * norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_rules() {
        assert_eq!(
            tokenize("Über  straße, ÜBER"),
            vec!["über", "straße", "über"]
        );
        assert_eq!(tokenize("it is the end"), vec!["end"]);
        assert!(tokenize(&"x".repeat(65)).is_empty());
        let (tf, len) = term_freqs("fox fox dog");
        assert_eq!(len, 3);
        assert_eq!(tf.get("fox"), Some(&2));
    }

    #[test]
    fn bm25_prefers_rarer_terms_and_shorter_docs() {
        let p = Bm25Params::default();
        assert!(p.score(1, 10, 10.0, 1, 100) > p.score(1, 10, 10.0, 50, 100));
        assert!(p.score(1, 5, 10.0, 1, 100) > p.score(1, 20, 10.0, 1, 100));
        assert!(p.score(3, 10, 10.0, 1, 100) > p.score(1, 10, 10.0, 1, 100));
    }
}

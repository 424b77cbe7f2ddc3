//! TOON (Token-Oriented Object Notation) spec 4.0 encoder and decoder, with exact token counting.
#![forbid(unsafe_code)]

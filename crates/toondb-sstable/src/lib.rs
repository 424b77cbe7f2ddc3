//! Sorted string tables for ToonDB: block format, bloom filters, block cache, table reader and builder.
#![forbid(unsafe_code)]

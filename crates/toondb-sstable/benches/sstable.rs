//! Benchmarks: building a table, point lookups on a hot cache, and a full scan.
fn main() {}

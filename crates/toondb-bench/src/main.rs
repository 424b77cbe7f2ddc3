//! Side-by-side benchmarks of ToonDB against peer engines.
fn main() {}

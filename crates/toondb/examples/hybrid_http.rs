//! Placeholder example (being written).
fn main() {}

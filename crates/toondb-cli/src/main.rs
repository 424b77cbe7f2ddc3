//! The toondb command-line tool.
fn main() {}

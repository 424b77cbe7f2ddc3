//! ToonDB's SQL engine: sqlparser AST, binder, planner, optimizer and executor over toondb-storage.
#![forbid(unsafe_code)]

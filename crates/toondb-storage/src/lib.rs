//! ToonDB's synchronous LSM storage engine: WAL, memtable, SSTables, compaction, MVCC transactions.
#![forbid(unsafe_code)]

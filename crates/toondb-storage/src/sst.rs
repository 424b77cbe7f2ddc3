//! The table layer the engine uses. Everything about SST files goes through this module, so
//! the engine depends on `toondb-sstable` in exactly one place.

pub(crate) use toondb_sstable::{
    BlockCache, SstBuilder, SstError, SstOptions, Table, TableIter, ValueKind, MAX_KEY_LEN,
    MAX_VALUE_LEN,
};

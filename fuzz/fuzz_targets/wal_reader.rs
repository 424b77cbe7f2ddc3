//! Arbitrary bytes as a WAL file: framing, checksums and batch decoding must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = toondb_storage::fuzz::wal_file(data);
});

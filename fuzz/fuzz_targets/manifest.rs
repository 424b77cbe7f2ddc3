//! Arbitrary bytes as a MANIFEST: framing, checksums and version-edit decoding must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = toondb_storage::fuzz::manifest_file(data);
});

//! Fuzz the TOON decoder: it must never panic, in strict or lenient mode, and whatever it
//! accepts must re-encode to a document that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toondb_toon::{decode, decode_bytes, encode, DecodeOptions, EncodeOptions};

fuzz_target!(|data: &[u8]| {
    let (flags, input) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    let indent = usize::from(flags & 3) + 1;
    let strict = flags & 4 == 0;
    let opts = DecodeOptions::default()
        .with_indent(indent)
        .with_strict(strict)
        .with_max_depth(64);
    if let Ok(v) = decode_bytes(input, &opts) {
        let text = encode(&v, &EncodeOptions::default());
        let back = decode(&text, &DecodeOptions::default().with_max_depth(1024))
            .expect("encoder output must decode");
        assert_eq!(back, v, "re-encoded document decodes differently:\n{text}");
    }
});

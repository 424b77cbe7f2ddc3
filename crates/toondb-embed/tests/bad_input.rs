//! Bad input and bad model files give typed errors, never a panic.

mod common;

use std::path::Path;

use toondb_embed::{EmbedError, Embedder, EmbedderOptions};

fn copy_model(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("1_Pooling")).expect("mkdir");
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "sentence_bert_config.json",
        "modules.json",
        "tokenizer_config.json",
        "1_Pooling/config.json",
    ] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).expect("copy");
        }
    }
}

#[test]
fn empty_and_oversized_texts_are_typed_errors() {
    let Some(dir) = common::model_dir() else {
        return;
    };
    let opts = EmbedderOptions {
        max_text_bytes: 4 << 20,
        ..Default::default()
    };
    let e = Embedder::load_with(&dir, opts).expect("load");
    assert!(matches!(
        e.embed(""),
        Err(EmbedError::EmptyText { index: 0 })
    ));
    assert!(matches!(
        e.embed_batch(&["fine", " \n\t"]),
        Err(EmbedError::EmptyText { index: 1 })
    ));
    // 3 MB of text: accepted under a 4 MiB limit and truncated to the window ...
    let big = "database ".repeat(350_000);
    let v = e.embed(&big).expect("3 MB text");
    assert_eq!(v.len(), 384);
    assert_eq!(e.token_count(&big).expect("count"), 256);
    // ... and refused over the limit.
    let huge = "x".repeat((4 << 20) + 1);
    assert!(matches!(
        e.embed(&huge),
        Err(EmbedError::TextTooLarge { index: 0, .. })
    ));
    // Invalid UTF-8 through the byte entry point.
    assert!(matches!(
        e.embed_bytes(&[b"ok", b"\xff\xfe bad"]),
        Err(EmbedError::InvalidUtf8 { index: 1, .. })
    ));
    assert!(e.embed_batch::<&str>(&[]).expect("empty batch").is_empty());
}

#[test]
fn wrong_or_truncated_model_files_are_typed_errors() {
    let Some(dir) = common::model_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");

    // Truncated weights.
    let d = tmp.path().join("truncated");
    copy_model(&dir, &d);
    let w = std::fs::read(d.join("model.safetensors")).expect("read");
    std::fs::write(d.join("model.safetensors"), &w[..w.len() / 3]).expect("write");
    let err = Embedder::load(&d).expect_err("truncated weights");
    assert!(
        matches!(&err, EmbedError::ModelFile { path, .. } if path.ends_with("model.safetensors")),
        "{err}"
    );

    // A config that does not match the weights (wrong hidden size).
    let d = tmp.path().join("wrong-config");
    copy_model(&dir, &d);
    let cfg = std::fs::read_to_string(d.join("config.json")).expect("read");
    std::fs::write(
        d.join("config.json"),
        cfg.replace("\"hidden_size\": 384", "\"hidden_size\": 768"),
    )
    .expect("write");
    let err = Embedder::load(&d).expect_err("wrong config");
    assert!(matches!(err, EmbedError::ModelFile { .. }), "{err}");

    // Garbage tokenizer, truncated config JSON, missing weights.
    let d = tmp.path().join("bad-tokenizer");
    copy_model(&dir, &d);
    std::fs::write(d.join("tokenizer.json"), b"{\"version\": ").expect("write");
    let err = Embedder::load(&d).expect_err("bad tokenizer");
    assert!(
        matches!(&err, EmbedError::ModelFile { path, .. } if path.ends_with("tokenizer.json")),
        "{err}"
    );
    let d = tmp.path().join("bad-config");
    copy_model(&dir, &d);
    std::fs::write(d.join("config.json"), b"{\"hidden_size\": 38").expect("write");
    assert!(matches!(
        Embedder::load(&d),
        Err(EmbedError::ModelFile { .. })
    ));
    let d = tmp.path().join("no-weights");
    copy_model(&dir, &d);
    std::fs::remove_file(d.join("model.safetensors")).expect("rm");
    let err = Embedder::load(&d).expect_err("no weights");
    assert!(err.to_string().contains("missing"), "{err}");

    // Not a BERT model.
    let d = tmp.path().join("not-bert");
    copy_model(&dir, &d);
    let cfg = std::fs::read_to_string(d.join("config.json")).expect("read");
    std::fs::write(
        d.join("config.json"),
        cfg.replace("\"model_type\": \"bert\"", "\"model_type\": \"llama\""),
    )
    .expect("write");
    assert!(matches!(
        Embedder::load(&d),
        Err(EmbedError::Unsupported(_))
    ));
}

#[test]
fn missing_model_directory_says_how_to_fetch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = Embedder::load(tmp.path().join("absent")).expect_err("absent");
    assert!(matches!(err, EmbedError::ModelNotFound { .. }));
    assert!(err.to_string().contains("toondb model fetch"), "{err}");
}

//! `toondb embed [--model DIR] [FILE]`: one text per input line (stdin without FILE) in, one
//! JSON array of floats per line out, in input order. The model is the one `toondb model path`
//! shows (`--model`, else `TOONDB_MODEL_DIR`, else the `toondb model fetch` cache).
//!
//! Also the demo's free-text question ([`demo_question`]).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use toondb::embed::{load_embedder, vector_json, Embedder};
use toondb::Database;

use crate::error::{Error, Result};

/// Arguments of `toondb embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Sentence-transformers model directory (default: `TOONDB_MODEL_DIR`, else the model
    /// `toondb model fetch` installed).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Texts, one per line (default: stdin).
    pub file: Option<PathBuf>,
    /// Lines embedded per batch.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
}

/// Loads the model `--model` names, or the default one.
pub fn embedder(model: Option<&Path>) -> Result<Arc<Embedder>> {
    Ok(load_embedder(model)?)
}

/// Runs `toondb embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    let e = embedder(args.model.as_deref())?;
    let (name, input): (PathBuf, Box<dyn BufRead>) = match &args.file {
        Some(p) => (
            p.clone(),
            Box::new(std::io::BufReader::new(
                std::fs::File::open(p).map_err(|err| Error::io(p, err))?,
            )),
        ),
        None => (PathBuf::from("<stdin>"), Box::new(std::io::stdin().lock())),
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut batch: Vec<String> = Vec::new();
    let mut first_line = 1u64;
    let mut line_no = 0u64;
    let flush = |batch: &mut Vec<String>, first: u64, out: &mut BufWriter<_>| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let vecs = e.embed_batch(batch).map_err(|err| match err {
            toondb::embed::EmbedError::EmptyText { index } => Error::input(
                &name,
                first + index as u64,
                "empty line: every line must hold a text to embed",
            ),
            toondb::embed::EmbedError::TextTooLarge { index, len, max } => Error::input(
                &name,
                first + index as u64,
                format!("line of {len} bytes is over the {max}-byte limit"),
            ),
            other => Error::Db(other.into()),
        })?;
        for v in vecs {
            writeln!(out, "{}", vector_json(&v))
                .map_err(|err| Error::io(Path::new("<stdout>"), err))?;
        }
        batch.clear();
        Ok(())
    };
    for line in input.split(b'\n') {
        let mut line = line.map_err(|err| Error::io(&name, err))?;
        line_no += 1;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8(line)
            .map_err(|err| Error::input(&name, line_no, format!("not valid UTF-8: {err}")))?;
        if batch.is_empty() {
            first_line = line_no;
        }
        batch.push(text);
        if batch.len() >= args.batch as usize {
            flush(&mut batch, first_line, &mut out)?;
        }
        if crate::interrupt::interrupted() {
            return Err(Error::Interrupted(format!(
                "stopped after line {line_no} (earlier batches were written)"
            )));
        }
    }
    flush(&mut batch, first_line, &mut out)?;
    out.flush()
        .map_err(|err| Error::io(Path::new("<stdout>"), err))?;
    Ok(())
}

/// The demo's free-text question: embeds `question` in-process and runs a hybrid (vector +
/// keyword) search on `collection`. Without a model it prints how to get one and returns.
pub fn demo_question(db: &Database, collection: &str, question: &str) -> Result<()> {
    println!("  free-text question (not in the data set): {question:?}");
    let e = match load_embedder(None) {
        Ok(e) => e,
        Err(err) => {
            println!("  skipped: {err}");
            return Ok(());
        }
    };
    let coll = db.collection(collection)?;
    coll.set_embedder(e)?;
    let t = std::time::Instant::now();
    let hits = coll.hybrid_search_text(question, 3)?;
    println!(
        "  embedded in-process ({}) and searched (vector + keyword) in {:.1} ms:",
        coll.embedder().map(|e| e.model_name()).unwrap_or_default(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for (i, h) in hits.iter().enumerate() {
        let text = h.text.clone().unwrap_or_default();
        let short: String = text.chars().take(90).collect();
        let more = if text.chars().count() > 90 { "..." } else { "" };
        println!("  {}. [{}] {short}{more}", i + 1, h.id);
    }
    Ok(())
}

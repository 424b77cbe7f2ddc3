//! `toondb toon encode|decode|tokens`.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use toondb_toon::{
    count_tokens, decode_bytes, encode, DecodeOptions, Delimiter, EncodeOptions, Tokenizer, Value,
};

/// Arguments of `toondb toon`.
#[derive(Debug, Args)]
pub struct ToonArgs {
    #[command(subcommand)]
    command: ToonCommand,
}

#[derive(Debug, Subcommand)]
enum ToonCommand {
    /// Read JSON (FILE or stdin) and write TOON.
    Encode {
        /// Input JSON file; stdin when absent or `-`.
        file: Option<PathBuf>,
        #[command(flatten)]
        enc: EncodeArgs,
        /// Write to this file (exact document, no trailing newline) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Read TOON (FILE or stdin) and write JSON.
    Decode {
        /// Input TOON file; stdin when absent or `-`.
        file: Option<PathBuf>,
        /// Spaces per indentation level expected in the input.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
        indent: u16,
        #[command(flatten)]
        dec: DecodeArgs,
        /// Write compact JSON instead of pretty-printed JSON.
        #[arg(long)]
        compact: bool,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print exact token counts of the data as pretty JSON, compact JSON and TOON.
    Tokens {
        /// Input file (JSON or TOON, see --from); stdin when absent or `-`.
        file: Option<PathBuf>,
        /// Input format.
        #[arg(long, value_enum, default_value_t = From::Auto)]
        from: From,
        /// Delimiter, and indentation of both the TOON output and a TOON input.
        #[command(flatten)]
        enc: EncodeArgs,
        #[command(flatten)]
        dec: DecodeArgs,
    },
}

#[derive(Debug, Args)]
struct EncodeArgs {
    /// Delimiter for arrays and tabular rows.
    #[arg(long, value_enum, default_value_t = DelimArg::Comma)]
    delimiter: DelimArg,
    /// Spaces per indentation level.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    indent: u16,
}

#[derive(Debug, Args)]
struct DecodeArgs {
    /// Enforce every strict-mode check of the spec (the default).
    #[arg(long, overrides_with = "no_strict")]
    strict: bool,
    /// Lenient decoding: no count/width/indentation/blank-line/duplicate-key errors.
    #[arg(long = "no-strict", overrides_with = "strict")]
    no_strict: bool,
    /// Maximum nesting depth accepted.
    #[arg(long, default_value_t = toondb_toon::DEFAULT_MAX_DEPTH)]
    max_depth: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DelimArg {
    Comma,
    Tab,
    Pipe,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum From {
    /// JSON if it parses as JSON, otherwise TOON.
    Auto,
    Json,
    Toon,
}

impl EncodeArgs {
    fn options(&self) -> EncodeOptions {
        let d = match self.delimiter {
            DelimArg::Comma => Delimiter::Comma,
            DelimArg::Tab => Delimiter::Tab,
            DelimArg::Pipe => Delimiter::Pipe,
        };
        EncodeOptions::default()
            .with_delimiter(d)
            .with_indent(usize::from(self.indent))
    }
}

impl DecodeArgs {
    fn options(&self, indent: u16) -> DecodeOptions {
        DecodeOptions::default()
            .with_indent(usize::from(indent))
            .with_strict(!self.no_strict)
            .with_max_depth(self.max_depth)
    }
}

/// Errors of the `toon` subcommands; displayed after `error: `.
#[derive(Debug)]
pub enum CliError {
    /// Reading or writing a file or stream failed.
    Io(String, io::Error),
    /// The JSON input is invalid.
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The TOON input is invalid (its Display is `line L, column C: message`).
    Toon(toondb_toon::Error),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Io(what, e) => write!(f, "{what}: {e}"),
            CliError::Json {
                line,
                column,
                message,
            } => {
                write!(f, "line {line}, column {column}: invalid JSON: {message}")
            }
            CliError::Toon(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CliError {}

fn json_error(e: &serde_json::Error) -> CliError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    CliError::Json {
        line: e.line().max(1),
        column: e.column().max(1),
        message,
    }
}

fn read_input(file: Option<&Path>) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    match file {
        Some(p) if p != Path::new("-") => {
            buf = std::fs::read(p).map_err(|e| CliError::Io(p.display().to_string(), e))?;
        }
        _ => {
            io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| CliError::Io("stdin".into(), e))?;
        }
    }
    Ok(buf)
}

fn parse_json(bytes: &[u8]) -> Result<Value, CliError> {
    let j: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    Ok(Value::from(j))
}

fn write_output(
    output: Option<&Path>,
    text: &str,
    newline_on_stdout: bool,
) -> Result<(), CliError> {
    match output {
        Some(p) => std::fs::write(p, text).map_err(|e| CliError::Io(p.display().to_string(), e)),
        None => {
            let mut out = io::stdout().lock();
            let r = out
                .write_all(text.as_bytes())
                .and_then(|()| {
                    if newline_on_stdout {
                        out.write_all(b"\n")
                    } else {
                        Ok(())
                    }
                })
                .and_then(|()| out.flush());
            match r {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| CliError::Io("stdout".into(), e)),
            }
        }
    }
}

/// Runs `toondb toon …`.
pub fn run(args: ToonArgs) -> Result<(), CliError> {
    match args.command {
        ToonCommand::Encode { file, enc, output } => {
            let value = parse_json(&read_input(file.as_deref())?)?;
            let text = encode(&value, &enc.options());
            write_output(output.as_deref(), &text, !text.is_empty())
        }
        ToonCommand::Decode {
            file,
            indent,
            dec,
            compact,
            output,
        } => {
            let bytes = read_input(file.as_deref())?;
            let value = decode_bytes(&bytes, &dec.options(indent)).map_err(CliError::Toon)?;
            let json = serde_json::Value::from(value);
            let text = if compact {
                serde_json::to_string(&json)
            } else {
                serde_json::to_string_pretty(&json)
            }
            .map_err(|e| CliError::Io("JSON output".into(), io::Error::other(e)))?;
            write_output(output.as_deref(), &text, true)
        }
        ToonCommand::Tokens {
            file,
            from,
            enc,
            dec,
        } => {
            let bytes = read_input(file.as_deref())?;
            let dopts = dec.options(enc.indent);
            let value = match from {
                From::Json => parse_json(&bytes)?,
                From::Toon => decode_bytes(&bytes, &dopts).map_err(CliError::Toon)?,
                From::Auto => match parse_json(&bytes) {
                    Ok(v) => v,
                    Err(_) => decode_bytes(&bytes, &dopts).map_err(CliError::Toon)?,
                },
            };
            let text = tokens_report(&value, &enc.options());
            write_output(None, &text, false)
        }
    }
}

fn tokens_report(value: &Value, opts: &EncodeOptions) -> String {
    use fmt::Write as _;
    let json = serde_json::Value::from(value);
    let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
    let compact = serde_json::to_string(&json).unwrap_or_default();
    let toon = encode(value, opts);
    let forms = [
        ("json-pretty", &pretty),
        ("json-compact", &compact),
        ("toon", &toon),
    ];
    let counts: Vec<[usize; 2]> = forms
        .iter()
        .map(|(_, t)| {
            [
                count_tokens(t, Tokenizer::O200k),
                count_tokens(t, Tokenizer::Cl100k),
            ]
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14}{:>12}{:>14}{:>14}",
        "format", "bytes", "o200k_base", "cl100k_base"
    );
    for ((name, text), c) in forms.iter().zip(&counts) {
        let _ = writeln!(
            out,
            "{:<14}{:>12}{:>14}{:>14}",
            name,
            text.len(),
            c[0],
            c[1]
        );
    }
    let pct = |toon: usize, json: usize| {
        if json == 0 {
            0.0
        } else {
            (json as f64 - toon as f64) * 100.0 / json as f64
        }
    };
    for (i, name) in [(0usize, "json-pretty"), (1, "json-compact")] {
        let _ = writeln!(
            out,
            "toon saves {:.1}% (o200k_base), {:.1}% (cl100k_base) vs {name}",
            pct(counts[2][0], counts[i][0]),
            pct(counts[2][1], counts[i][1])
        );
    }
    out
}

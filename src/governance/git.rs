//! The one git call `ledger verify --base-ref` needs, run as a subprocess.

use std::path::Path;

use crate::error::{Error, Result};

/// Runs git with `args` in `dir`; stdout on success, stderr's text on failure. Failing to
/// start git at all is the error.
pub(super) fn git(dir: &Path, args: &[&str]) -> Result<std::result::Result<Vec<u8>, String>> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| Error::infrastructure(format!("cannot run git: {e}")))?;
    Ok(if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    })
}

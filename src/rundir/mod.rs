//! The run directory: the on-disk record of one run, and the only module that knows its
//! format. `manifest.json` says what the run was, `calls.jsonl` holds one line per
//! (case, repeat) as it finished, `report.json` the judgement. Everything that reads or
//! writes a run directory goes through here.

pub mod calls;
pub mod identity;
pub mod manifest;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

pub use calls::{CallRecord, CallWriter, ReadMode};
pub use identity::{BackendRef, CriteriaRef, GoldenRef, Identity, PromptRef};
pub use manifest::{Manifest, Settings, Status};
pub use report::Report;

/// The manifest verdict of a finished shard: recorded, not judged.
pub const PARTIAL: &str = "partial";

/// A fresh, unique run directory under `out`: time to the millisecond plus a random suffix,
/// created with `create_dir` so two runs can never share one.
pub fn create(out: &Path) -> Result<(String, PathBuf)> {
    std::fs::create_dir_all(out).map_err(|e| Error::write_failed(out, &e))?;
    loop {
        let run_id = new_run_id();
        let dir = out.join(&run_id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((run_id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::write_failed(&dir, &e)),
        }
    }
}

/// Time to the millisecond plus a random suffix.
pub fn new_run_id() -> String {
    let stamp: String = humantime::format_rfc3339_millis(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{:06x}", fastrand::u32(..0x100_0000))
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Whether `path` names one of a run directory's own files (manifest, calls, report) in
/// `run_dir`: what a re-judgement must never overwrite.
pub fn is_own_file(run_dir: &Path, path: &Path, cwd: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if ![report::FILE_NAME, manifest::FILE_NAME, calls::FILE_NAME].contains(&name) {
        return false;
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let run_dir = std::fs::canonicalize(run_dir);
    match (folder.map(std::fs::canonicalize), run_dir) {
        (Some(Ok(a)), Ok(b)) => a == b,
        (None, Ok(b)) => std::fs::canonicalize(cwd).is_ok_and(|a| a == b),
        _ => false,
    }
}

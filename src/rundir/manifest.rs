//! `manifest.json`: what a run was, so it can be trusted, resumed, merged or promoted
//! elsewhere. Paths are relative to the project root.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Identity;
use crate::backend::BackendKind;
use crate::error::{Error, Location, Result};
use crate::shard::Shard;

pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Calls are being made (or the process died: a run left `running` was killed).
    Running,
    /// Every call finished and the verdict was written.
    Completed,
    /// Stopped by Ctrl-C; finished calls are in calls.jsonl.
    Interrupted,
    /// Stopped by an error; finished calls are in calls.jsonl.
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
        })
    }
}

/// How the run was made, so `--resume` can continue it the same way. Paths are relative to
/// the project root; a key is never stored, only the name of the variable holding it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub backend: BackendKind,
    pub command: Option<String>,
    pub base_url: Option<String>,
    pub key_env_var: Option<String>,
    pub mock_rules: Option<String>,
    pub mock_latency_ms: u64,
    pub timeout_secs: f64,
    pub max_retries: u32,
    pub rpm: Option<u32>,
    pub max_error_rate: f64,
    pub cache: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub tool_version: String,
    pub run_id: String,
    pub status: Status,
    pub started_at: String,
    pub finished_at: Option<String>,
    #[serde(flatten)]
    pub identity: Identity,
    pub concurrency: usize,
    pub repeats: u32,
    /// One shard of a run (`--shard`, written `I/N`); a whole run has none.
    pub shard: Option<Shard>,
    pub calls_total: usize,
    pub calls_done: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    pub settings: Settings,
    /// The shard runs a merged run was made of, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

impl Manifest {
    /// Refuses one shard of a run where a whole run is needed.
    pub fn require_whole(&self, run_dir: &Path, what: &str) -> Result<()> {
        match &self.shard {
            None => Ok(()),
            Some(shard) => Err(Error::input(
                Location::file(run_dir.join(FILE_NAME)),
                format!(
                    "is shard {shard} of a run, which {what} cannot use: combine the shards with `promptgate merge` and use the merged run"
                ),
            )),
        }
    }

    /// The run ids whose lines calls.jsonl may hold: this run's, or a merged run's shards'.
    pub fn line_run_ids(&self) -> Vec<&str> {
        if self.merged_from.is_empty() {
            vec![self.run_id.as_str()]
        } else {
            self.merged_from.iter().map(String::as_str).collect()
        }
    }

    /// Refuses a run that did not complete, naming how to finish it.
    pub fn require_completed(&self, run_dir: &Path, what: &str) -> Result<()> {
        if self.status == Status::Completed {
            return Ok(());
        }
        Err(Error::input(
            Location::file(run_dir.join(FILE_NAME)),
            format!(
                "the {what} is {}, not completed: finish it with `promptgate run --resume {}`",
                self.status,
                run_dir.display()
            ),
        ))
    }

    pub fn load(run_dir: &Path) -> Result<Manifest> {
        let path = run_dir.join(FILE_NAME);
        let text = crate::error::read_text(&path)?;
        serde_json::from_str(&text).map_err(|e| {
            Error::input(
                Location::line(&path, e.line()),
                format!("not a promptgate manifest: {e}"),
            )
        })
    }

    /// Writes atomically (temp file + rename), so a reader never sees half a manifest.
    pub fn write(&self, run_dir: &Path) -> Result<()> {
        let path = run_dir.join(FILE_NAME);
        let tmp = run_dir.join(".manifest.json.tmp");
        let mut text = serde_json::to_string_pretty(self).expect("manifest serializes");
        text.push('\n');
        std::fs::write(&tmp, text).map_err(|e| Error::write_failed(&tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::write_failed(&path, &e))
    }
}

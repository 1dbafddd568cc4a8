//! `manifest.json`: what a run was, so it can be trusted, resumed, merged or promoted
//! elsewhere. Paths are relative to the project root.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::RunPlan;

pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromptRef {
    pub id: String,
    pub version: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoldenRef {
    pub path: String,
    pub hash: String,
    pub cases: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CriteriaRef {
    pub path: String,
    pub version: u64,
    pub hash: String,
}

/// The backend as recorded: never a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendRef {
    pub kind: String,
    pub model: String,
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_rules: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_latency_ms: Option<u64>,
}

/// What produced a run's results: the block every report carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub prompt: PromptRef,
    pub golden: GoldenRef,
    pub criteria: CriteriaRef,
    pub backend: BackendRef,
}

impl Identity {
    pub fn of(plan: &RunPlan) -> Identity {
        let info = &plan.backend_info;
        Identity {
            prompt: PromptRef {
                id: plan.prompt.id.clone(),
                version: plan.prompt.version.clone(),
                path: plan.project.relative(&plan.prompt.path),
            },
            golden: GoldenRef {
                path: plan.project.relative(&plan.golden.path),
                hash: plan.golden.hash.clone(),
                cases: plan.golden.cases.len(),
            },
            criteria: CriteriaRef {
                path: plan.project.relative(&plan.criteria.path),
                version: plan.criteria.version,
                hash: plan.criteria.hash.clone(),
            },
            backend: BackendRef {
                kind: info.kind.clone(),
                model: info.model.clone(),
                endpoint: info.endpoint.clone(),
                command: info.command.clone(),
                mock_rules: info.mock_rules.clone(),
                mock_latency_ms: info.mock_latency_ms,
            },
        }
    }
}

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

/// How the run was made, so `--resume` can continue it the same way. Paths are relative to
/// the project root; a key is never stored, only the name of the variable holding it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub backend: String,
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
    /// `I/N` for one shard of a run (`--shard`); a whole run has none.
    pub shard: Option<String>,
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
                crate::error::Location::file(run_dir.join(FILE_NAME)),
                format!(
                    "is shard {shard} of a run, which {what} cannot use: combine the shards with `promptgate merge` and use the merged run"
                ),
            )),
        }
    }

    pub fn load(run_dir: &Path) -> Result<Manifest> {
        let path = run_dir.join(FILE_NAME);
        let text = crate::error::read_text(&path)?;
        serde_json::from_str(&text).map_err(|e| {
            Error::input(
                crate::error::Location::line(&path, e.line()),
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

//! Reports rendered from a judged run. `report.json` is the full, machine-readable record;
//! the terminal summary is what a person reads after `promptgate run`.

pub mod compare;
pub mod compare_html;
pub mod csv;
pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod terminal;
pub mod view;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gate::{Judgement, Verdict};
use crate::run::manifest::Identity;

pub const JSON_FILE_NAME: &str = "report.json";
/// Bumped on any incompatible change to report.json.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: String,
    pub run_id: String,
    pub identity: Identity,
    pub repeats: u32,
    #[serde(flatten)]
    pub judgement: Judgement,
}

impl Report {
    pub fn new(run_id: &str, identity: Identity, repeats: u32, judgement: Judgement) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: run_id.to_string(),
            identity,
            repeats,
            judgement,
        }
    }

    pub fn passed(&self) -> bool {
        self.judgement.verdict == Verdict::Pass
    }

    pub fn verdict_word(&self) -> &'static str {
        match self.judgement.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("report serializes");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| Error::write_failed(path, &e))
    }
}

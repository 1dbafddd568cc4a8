//! `report.json`: a run's judgement (verdict, gates, aggregates, failing cases) with the
//! identity of what was judged. The full, machine-readable record; renderers live in
//! `report/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Identity;
use crate::error::{Error, Location, Result};
use crate::gate::{Judgement, Verdict};

pub const FILE_NAME: &str = "report.json";
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

    /// The JSON text report.json holds.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("report serializes");
        text.push('\n');
        text
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json()).map_err(|e| Error::write_failed(path, &e))
    }

    /// Parses report.json's text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Report> {
        serde_json::from_str(text).map_err(|e| {
            Error::input(
                Location::line(path, e.line()),
                format!("not a promptgate report: {e}"),
            )
        })
    }

    /// Reads `<run_dir>/report.json`.
    pub fn load(run_dir: &Path) -> Result<Report> {
        let path = run_dir.join(FILE_NAME);
        Report::parse(&path, &crate::error::read_text(&path)?)
    }
}

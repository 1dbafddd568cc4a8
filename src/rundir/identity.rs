//! What produced a run's results: the block every manifest and report carries. Paths are
//! relative to the project root, so a run directory means the same thing elsewhere.

use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRef {
    pub id: String,
    pub version: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldenRef {
    pub path: String,
    pub hash: String,
    pub cases: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriteriaRef {
    pub path: String,
    pub version: u64,
    pub hash: String,
}

/// The backend as recorded: never a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendRef {
    pub kind: BackendKind,
    pub model: String,
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_rules: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_latency_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub prompt: PromptRef,
    pub golden: GoldenRef,
    pub criteria: CriteriaRef,
    pub backend: BackendRef,
}

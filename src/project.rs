//! Project defaults (`promptgate.toml`), found from the working directory upward.
//!
//! The folder holding it is the project root: manifest paths are relative to it, so a run
//! directory stays meaningful on another machine. Without one, the working directory is
//! the root. The file never holds a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backend::BackendKind;
use crate::error::{self, Error, Location, Result};

pub const FILE_NAME: &str = "promptgate.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    #[serde(default)]
    pub backend: BackendDefaults,
    #[serde(default)]
    pub run: RunDefaults,
    #[serde(default)]
    pub promotion: PromotionDefaults,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendDefaults {
    pub kind: Option<BackendKind>,
    pub mock_rules: Option<PathBuf>,
    pub base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunDefaults {
    pub out: Option<PathBuf>,
    pub concurrency: Option<usize>,
}

/// Read by the promotion commands; parsed here so a typo fails early.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionDefaults {
    pub environments: Option<Vec<String>>,
    pub approvals: Option<BTreeMap<String, u32>>,
    pub ledger: Option<PathBuf>,
    pub store: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Project {
    /// Absolute folder holding promptgate.toml, else the working directory.
    pub root: PathBuf,
    /// The file, when one was found.
    pub config_path: Option<PathBuf>,
    pub config: ProjectFile,
}

impl Project {
    /// Looks for promptgate.toml in `start` and its ancestors.
    pub fn discover(start: &Path) -> Result<Project> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        for dir in start.ancestors() {
            let candidate = dir.join(FILE_NAME);
            if candidate.exists() && !candidate.is_file() {
                return Err(Error::input(
                    Location::file(&candidate),
                    "is not a regular file: the project settings file must be a TOML file (remove or rename this one)",
                ));
            }
            if candidate.is_file() {
                let text = error::read_text(&candidate)?;
                let config: ProjectFile =
                    toml::from_str(&text).map_err(|e| error::toml_error(&candidate, &text, &e))?;
                return Ok(Project {
                    root: dir.to_path_buf(),
                    config_path: Some(candidate),
                    config,
                });
            }
        }
        Ok(Project {
            root: start,
            config_path: None,
            config: ProjectFile::default(),
        })
    }

    /// A path from promptgate.toml, which is relative to the project root.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }

    /// `path` as the manifest records it: relative to the root when it lies inside it.
    pub fn relative(&self, path: &Path) -> String {
        let absolute = std::fs::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        match absolute.strip_prefix(&root) {
            Ok(relative) => relative.to_string_lossy().replace('\\', "/"),
            Err(_) => absolute.to_string_lossy().into_owned(),
        }
    }

    pub fn config_error(&self, message: impl Into<String>) -> Error {
        let path = self
            .config_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(FILE_NAME));
        Error::input(error::Location::file(path), message)
    }
}

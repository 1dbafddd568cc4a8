//! Promotion governance: approve, promote, rollback, show, status, ledger verify, audit and
//! export flagd, one file per command, with the promotion policy apart as a pure function.
//!
//! Every decision is read from the ledger (see `ledger`); promoted prompt files are kept byte
//! for byte in the store, content-addressed by version, so a rollback needs nothing else.

mod approve;
mod audit;
mod canary;
mod flagd;
mod git;
pub mod policy;
mod promote;
mod rollback;
mod show;
mod status;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::digest;
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::ledger::{self, Ledger, Tampered};
use crate::project::Project;
use crate::prompt::Prompt;

pub use approve::{ApproveRequest, approve};
pub use audit::audit;
pub use canary::{CanaryRequest, canary};
pub use flagd::{FlagdRequest, export_flagd};
pub use promote::{PromoteRequest, promote};
pub use rollback::{RollbackRequest, rollback};
pub use show::show;
pub use status::status;
pub use verify::verify;

pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];
pub const DEFAULT_LEDGER: &str = "promptgate.ledger.jsonl";
pub const DEFAULT_STORE: &str = ".promptgate/store";
pub const DEFAULT_RUNS: &str = ".promptgate/runs";

/// The project's promotion settings, checked.
pub struct Governance {
    pub project: Project,
    pub environments: Vec<String>,
    pub approvals: BTreeMap<String, u32>,
    pub ledger: Ledger,
    pub store: PathBuf,
}

fn note(text: &str) {
    crate::interrupt::note(format_args!("{text}"));
}

/// Prints a broken chain: a tampered ledger is a failed check (exit 1), not an input error.
fn tampered(gov: &Governance, t: &Tampered) -> Outcome {
    note(&format!(
        "tampered: {}",
        ledger::tampered_error(Path::new(&gov.shown(&gov.ledger.path)), t)
    ));
    Outcome::Failed
}

impl Governance {
    pub fn load(cwd: &Path) -> Result<Governance> {
        let project = Project::discover(cwd)?;
        let promotion = &project.config.promotion;
        let environments: Vec<String> = promotion
            .environments
            .clone()
            .unwrap_or_else(|| DEFAULT_ENVIRONMENTS.iter().map(|e| e.to_string()).collect());
        if environments.is_empty() {
            return Err(project.config_error("[promotion] environments is empty"));
        }
        let mut seen = BTreeSet::new();
        for env in &environments {
            if env.trim().is_empty() || !seen.insert(env.as_str()) {
                return Err(project.config_error(format!(
                    "[promotion] environments: {env:?} is empty or listed twice"
                )));
            }
        }
        // Without an `approvals` table, a sensitive prompt still needs one approver (not its
        // promoter) for the last environment: `sensitive` must never mean nothing.
        let approvals = promotion.approvals.clone().unwrap_or_else(|| {
            BTreeMap::from([(environments.last().cloned().unwrap_or_default(), 1)])
        });
        for env in approvals.keys() {
            if !environments.contains(env) {
                return Err(project.config_error(format!(
                    "[promotion] approvals names {env:?}, which is not one of the environments ({})",
                    environments.join(", ")
                )));
            }
        }
        let ledger_path = project.resolve(
            promotion
                .ledger
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_LEDGER)),
        );
        // The lock and the index sit in the tool's scratch folder, so a refusal leaves the
        // ledger as it was.
        let ledger = Ledger::new(ledger_path, &project.root.join(".promptgate"));
        let store = project.resolve(
            promotion
                .store
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_STORE)),
        );
        Ok(Governance {
            project,
            environments,
            approvals,
            ledger,
            store,
        })
    }

    fn check_env(&self, env: &str) -> Result<usize> {
        self.environments
            .iter()
            .position(|e| e == env)
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown environment {env:?}: the environments are {} ([promotion] environments in promptgate.toml; dev, staging, prod without one)",
                    self.environments.join(", ")
                ))
            })
    }

    fn store_path(&self, version: &str) -> PathBuf {
        let hex = version.strip_prefix("sha256:").unwrap_or(version);
        self.store.join(format!("{hex}.toml"))
    }

    /// Keeps a prompt file byte for byte under its version (first copy wins: the same
    /// version means the same model settings and messages).
    fn store_prompt(&self, version: &str, bytes: &[u8]) -> Result<()> {
        let path = self.store_path(version);
        if path.is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.store).map_err(|e| Error::write_failed(&self.store, &e))?;
        let tmp = self.store.join(format!(
            ".{}.tmp{}",
            digest::short(version),
            std::process::id()
        ));
        std::fs::write(&tmp, bytes).map_err(|e| Error::write_failed(&tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::write_failed(&path, &e))
    }

    fn shown(&self, path: &Path) -> String {
        self.project.relative(path)
    }

    /// The project's `prompts/` folder.
    fn prompts_dir(&self) -> PathBuf {
        self.project.root.join("prompts")
    }

    /// Prompt files directly under the project's `prompts/` folder, parsed: one that does not
    /// parse is an input error, never skipped.
    fn working_copies(&self) -> Result<Vec<Prompt>> {
        let dir = self.prompts_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::unreadable(&dir, &e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        paths.sort();
        paths.iter().map(|p| Prompt::load(p)).collect()
    }

    /// The stored file of a version given in full or in its 12-digit short form.
    fn find_stored(&self, query: &str) -> Result<PathBuf> {
        check_version_query(query)?;
        let q = query.strip_prefix("sha256:").unwrap_or(query);
        let mut found: Vec<PathBuf> = Vec::new();
        if let Ok(dir) = std::fs::read_dir(&self.store) {
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(hex) = name.strip_suffix(".toml")
                    && hex.len() == 64
                    && hex.starts_with(q)
                {
                    found.push(entry.path());
                }
            }
        }
        found.sort();
        match found.len() {
            0 => Err(Error::usage(format!(
                "no stored prompt has version {query}: only promoted versions are in {}",
                self.shown(&self.store)
            ))),
            1 => Ok(found.remove(0)),
            n => Err(Error::usage(format!(
                "{query} matches {n} stored versions: give the full version"
            ))),
        }
    }

    /// The stored file of a version the ledger records as promoted, parsed.
    fn load_stored(&self, version: &str) -> Result<Prompt> {
        let path = self.store_path(version);
        if !path.is_file() {
            return Err(Error::input(
                Location::file(&path),
                format!(
                    "the store lacks version {}, which the ledger records as promoted",
                    digest::short(version)
                ),
            ));
        }
        Prompt::load(&path)
    }
}

/// `--actor`, else `GITHUB_ACTOR`, else git's `user.email`.
pub fn actor(flag: Option<&str>) -> Result<String> {
    if let Some(actor) = flag {
        if actor.trim().is_empty() {
            return Err(Error::usage("--actor is empty"));
        }
        return Ok(actor.trim().to_string());
    }
    if let Ok(actor) = std::env::var("GITHUB_ACTOR")
        && !actor.trim().is_empty()
    {
        return Ok(actor.trim().to_string());
    }
    if let Ok(out) = std::process::Command::new("git")
        .args(["config", "user.email"])
        .output()
        && out.status.success()
    {
        let email = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !email.is_empty() {
            return Ok(email);
        }
    }
    Err(Error::usage(
        "no actor: pass --actor WHO, or set GITHUB_ACTOR, or git config user.email",
    ))
}

/// A prompt file parsed, and its bytes as the store keeps them.
fn read_prompt(path: &Path) -> Result<(Prompt, Vec<u8>)> {
    let bytes = crate::error::read_bytes(path)?;
    let text = crate::error::text_from_bytes(path, bytes.clone())?;
    Ok((Prompt::parse(path, &text)?, bytes))
}

/// Matches a full `sha256:` id, 64 hex digits or the 12-digit short form.
fn matches_version(query: &str, version: &str) -> bool {
    let hex = version.strip_prefix("sha256:").unwrap_or(version);
    let q = query.strip_prefix("sha256:").unwrap_or(query);
    (q.len() == 64 && q == hex) || (q.len() == 12 && hex.starts_with(q))
}

/// Refuses anything but a full `sha256:` id, 64 hex digits or the 12-digit short form.
fn check_version_query(query: &str) -> Result<()> {
    let q = query.strip_prefix("sha256:").unwrap_or(query);
    let hex = q
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex || !(q.len() == 12 || q.len() == 64) {
        return Err(Error::usage(format!(
            "{query:?} is not a version: give the full sha256:… id or its 12-digit short form"
        )));
    }
    Ok(())
}

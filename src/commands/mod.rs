//! One file per command. Each takes its validated request (built by `cli` from the flags),
//! does its work, prints what a person needs, and returns an [`Outcome`]; only `main` turns
//! outcomes and errors into exit codes.

mod compare;
mod gate;
mod inspect;
mod merge;
mod publish;
mod report;
mod run;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::governance;

pub use compare::CompareRequest;
pub use gate::GateRequest;
pub use merge::MergeRequest;
pub use report::ReportRequest;
pub use run::RunRequest;

/// A command, as `cli` resolved it from the flags.
pub enum Command {
    Run(RunRequest),
    Compare(CompareRequest),
    Gate(GateRequest),
    Merge(MergeRequest),
    Report(ReportRequest),
    Hash(PathBuf),
    Golden(PathBuf),
    Approve {
        prompt: PathBuf,
        env: String,
        actor: Option<String>,
        reason: Option<String>,
    },
    Promote {
        prompt: PathBuf,
        env: String,
        evidence: PathBuf,
        actor: Option<String>,
        reason: Option<String>,
    },
    Rollback {
        prompt_id: String,
        env: String,
        to: Option<String>,
        actor: Option<String>,
        reason: String,
    },
    Show(String),
    Status {
        json: bool,
    },
    LedgerVerify {
        base_ref: Option<String>,
    },
    Audit {
        max_age_days: u64,
    },
    ExportFlagd {
        env: Option<String>,
        canary: Option<String>,
        percent: Option<u8>,
        output: Option<PathBuf>,
    },
}

/// Runs one command.
pub fn execute(command: Command) -> Result<Outcome> {
    match command {
        Command::Run(request) => run::run(&request),
        Command::Compare(request) => compare::compare(&request),
        Command::Gate(request) => gate::gate(&request),
        Command::Merge(request) => merge::merge(&request),
        Command::Report(request) => report::report(&request),
        Command::Hash(prompt) => inspect::hash(&prompt),
        Command::Golden(golden) => inspect::golden(&golden),
        Command::Approve {
            prompt,
            env,
            actor,
            reason,
        } => governance::approve(&cwd()?, &prompt, &env, actor.as_deref(), reason).map(legacy),
        Command::Promote {
            prompt,
            env,
            evidence,
            actor,
            reason,
        } => governance::promote(
            &cwd()?,
            &governance::PromoteRequest {
                prompt: &prompt,
                env: &env,
                evidence: &evidence,
                actor: actor.as_deref(),
                reason,
            },
        )
        .map(legacy),
        Command::Rollback {
            prompt_id,
            env,
            to,
            actor,
            reason,
        } => governance::rollback(
            &cwd()?,
            &governance::RollbackRequest {
                prompt_id: &prompt_id,
                env: &env,
                to: to.as_deref(),
                actor: actor.as_deref(),
                reason,
            },
        )
        .map(legacy),
        Command::Show(version) => governance::show(&cwd()?, &version).map(legacy),
        Command::Status { json } => governance::status(&cwd()?, json).map(legacy),
        Command::LedgerVerify { base_ref } => {
            governance::verify(&cwd()?, base_ref.as_deref()).map(legacy)
        }
        Command::Audit { max_age_days } => governance::audit(&cwd()?, max_age_days).map(legacy),
        Command::ExportFlagd {
            env,
            canary,
            percent,
            output,
        } => governance::export_flagd(
            &cwd()?,
            &governance::FlagdRequest {
                env: env.as_deref(),
                canary: canary.as_deref(),
                percent,
                output: output.as_deref(),
            },
        )
        .map(legacy),
    }
}

// TEMPORARY until governance returns Outcome.
fn legacy(code: i32) -> Outcome {
    Outcome::from_held(code == 0)
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))
}

/// The async runtime calls run on, listening for interrupts from the start.
fn runtime() -> Result<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    crate::interrupt::install(&runtime);
    Ok(runtime)
}

/// A path as a person at `cwd` reads it.
fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

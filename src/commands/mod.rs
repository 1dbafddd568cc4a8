//! One file per command (the promotion commands one file each in `governance/`). Each takes
//! its validated request (built by `cli` from the flags), does its work, prints what a person
//! needs, and returns an [`Outcome`]; only `main` turns outcomes and errors into exit codes.

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

pub use crate::governance::{
    ApproveRequest, CanaryRequest, FlagdRequest, PromoteRequest, RollbackRequest,
};
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
    Approve(ApproveRequest),
    Promote(PromoteRequest),
    Canary(CanaryRequest),
    Rollback(RollbackRequest),
    Show(String),
    Status { json: bool },
    LedgerVerify { base_ref: Option<String> },
    Audit { max_age_days: u64 },
    ExportFlagd(FlagdRequest),
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
        Command::Approve(request) => governance::approve(&cwd()?, &request),
        Command::Promote(request) => governance::promote(&cwd()?, &request),
        Command::Canary(request) => governance::canary(&cwd()?, &request),
        Command::Rollback(request) => governance::rollback(&cwd()?, &request),
        Command::Show(version) => governance::show(&cwd()?, &version),
        Command::Status { json } => governance::status(&cwd()?, json),
        Command::LedgerVerify { base_ref } => governance::verify(&cwd()?, base_ref.as_deref()),
        Command::Audit { max_age_days } => governance::audit(&cwd()?, max_age_days),
        Command::ExportFlagd(request) => governance::export_flagd(&cwd()?, &request),
    }
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

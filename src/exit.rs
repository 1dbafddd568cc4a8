//! Process exit codes: the contract CI pipelines rely on (see design.md, "Exit codes").
//!
//! Commands return an [`Outcome`] (or an [`Error`](crate::Error), which knows its code);
//! `main` is the only place that turns either into a code and calls `std::process::exit`.

/// Every gate was measured on every case and held.
pub const PASS: i32 = 0;
/// The gate failed: quality below the criteria, a must-pass case failed.
pub const GATE_FAILED: i32 = 1;
/// Invalid input or usage: unreadable or malformed file, unknown scorer or metric, golden
/// hash mismatch, missing template variable.
pub const INPUT: i32 = 2;
/// Infrastructure failure: the backend failed, the run could not be written.
pub const INFRASTRUCTURE: i32 = 3;
/// Interrupted (Ctrl-C): what finished is on disk.
pub const INTERRUPTED: i32 = 130;

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Everything checked held (or there was nothing to judge: a hash, a rendered report).
    Passed,
    /// A check failed: a gate, a must-pass case, a refused promotion, a tampered ledger,
    /// an audit finding.
    Failed,
}

impl Outcome {
    /// `Passed` when `held`, else `Failed`.
    pub fn from_held(held: bool) -> Outcome {
        if held {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
    }

    pub fn code(self) -> i32 {
        match self {
            Outcome::Passed => PASS,
            Outcome::Failed => GATE_FAILED,
        }
    }
}

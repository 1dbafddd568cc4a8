//! Process exit codes: the contract CI pipelines rely on (see design.md, "Exit codes").
//!
//! `main` is the only place that calls `std::process::exit`; everything else returns a
//! value that maps to one of these.

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

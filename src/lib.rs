//! promptgate: gate prompt changes like code.
//!
//! A prompt version (content hash of model settings + messages) runs over a frozen golden
//! set through a backend; scorers judge each output; the criteria's gates judge the run;
//! the exit code blocks promotion.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod cost;
pub mod criteria;
pub mod digest;
pub mod error;
pub mod exit;
pub mod gate;
pub mod golden;
pub mod governance;
pub mod interrupt;
pub mod judging;
pub mod ledger;
pub mod plan;
pub mod project;
pub mod prompt;
pub mod report;
pub mod run;
pub mod rundir;
pub mod score;
pub mod secrets;
pub mod shard;
pub mod stats;
pub mod template;

pub use error::{Error, Result};

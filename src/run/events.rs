//! What the runner tells the world while it runs. The runner never prints: it emits these
//! events to a sink, and sinks render them (the calls.jsonl writer, the progress display,
//! interrupt messages, GitHub annotations), as cargo-nextest's reporter does.

use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::rundir::calls::{CallRecord, CallWriter};
use crate::rundir::{Report, Status};

pub enum RunEvent<'a> {
    /// The run directory exists and calls are about to start.
    Started {
        run_id: &'a str,
        run_dir: &'a Path,
        /// Calls this process will make.
        owed: usize,
        /// Calls the run has in all (a resumed run finished some before).
        total: usize,
    },
    /// A call failed and will be tried again after `delay`.
    Retrying {
        case_id: &'a str,
        repeat: u32,
        /// The attempt that failed (1-based).
        attempt: u32,
        reason: &'a str,
        delay: Duration,
    },
    /// One (case, repeat) finished (answered, or failed for good) and was scored.
    CallFinished {
        record: &'a CallRecord,
        passed: bool,
        /// Samples failing so far, this one included.
        failing: usize,
    },
    /// Every finished call has been handed out and none is waiting: a moment to flush.
    Drained,
    /// About once a second, whatever happens.
    Tick,
    /// Ctrl-C or SIGTERM: no new call starts; calls in flight get `grace` to finish.
    Interrupted { grace: Duration },
    /// The run ended with `status`; a completed whole run carries its report.
    Finished {
        status: Status,
        report: Option<&'a Report>,
    },
}

/// A consumer of run events. An error from a sink stops the run (the calls.jsonl writer's
/// errors must: a call that cannot be recorded must not count).
pub trait RunSink {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()>;
}

/// Several sinks, each receiving every event in order.
#[derive(Default)]
pub struct Sinks<'a>(pub Vec<&'a mut dyn RunSink>);

impl RunSink for Sinks<'_> {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()> {
        for sink in &mut self.0 {
            sink.event(event)?;
        }
        Ok(())
    }
}

/// calls.jsonl as a sink: every finished call is appended; lines are flushed whenever no
/// further result is waiting, so a slow run writes each line as its call finishes and a
/// fast one writes in batches.
pub struct CallLogSink(pub CallWriter);

impl RunSink for CallLogSink {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()> {
        match event {
            RunEvent::CallFinished { record, .. } => self.0.append(record),
            RunEvent::Drained | RunEvent::Interrupted { .. } | RunEvent::Finished { .. } => {
                self.0.flush()
            }
            _ => Ok(()),
        }
    }
}

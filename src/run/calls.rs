//! `calls.jsonl`, the exposure log: one line per (case, repeat), written and flushed as it
//! completes. Retries are counted in `attempts`, never written as extra lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::error::{Error, Result};
use crate::score::Score;

pub const FILE_NAME: &str = "calls.jsonl";

/// One finished call, as the runner hands it to reporters.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub case_index: usize,
    pub repeat: u32,
    pub finished_at: SystemTime,
    pub model: String,
    pub output: String,
    pub response_hash: Option<String>,
    pub latency_ms: u64,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub attempts: u32,
    pub cached: bool,
    /// Why the call failed for good; a failed call is scored as failing.
    pub error: Option<String>,
    /// Scores by scorer slot.
    pub scores: Vec<(usize, Score)>,
}

/// The run-level fields every line repeats.
pub struct LineContext<'a> {
    pub run_id: &'a str,
    pub prompt_id: &'a str,
    pub prompt_version: &'a str,
    pub scorer_names: &'a [String],
    pub case_ids: &'a dyn Fn(usize) -> &'a str,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    run_id: &'a str,
    case_id: &'a str,
    repeat: u32,
    prompt_id: &'a str,
    prompt_version: &'a str,
    model: &'a str,
    response_hash: Option<&'a str>,
    latency_ms: u64,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    attempts: u32,
    cached: bool,
    error: Option<&'a str>,
    output: &'a str,
    scores: Scores<'a>,
}

/// Scores as an object keyed by scorer name, in scorer order.
struct Scores<'a> {
    names: &'a [String],
    scores: &'a [(usize, Score)],
}

impl Serialize for Scores<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.scores.len()))?;
        for (slot, score) in self.scores {
            map.serialize_entry(&self.names[*slot], score)?;
        }
        map.end()
    }
}

pub struct CallLog {
    path: PathBuf,
    out: BufWriter<File>,
    buffer: Vec<u8>,
}

impl CallLog {
    /// Opens the run's log for appending (creating it for a new run).
    pub fn open(run_dir: &Path) -> Result<CallLog> {
        let path = run_dir.join(FILE_NAME);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::write_failed(&path, &e))?;
        Ok(CallLog {
            path,
            out: BufWriter::with_capacity(256 * 1024, file),
            buffer: Vec::with_capacity(4096),
        })
    }

    pub fn append(&mut self, ctx: &LineContext<'_>, record: &CallRecord) -> Result<()> {
        let line = Line {
            ts: humantime::format_rfc3339_millis(record.finished_at).to_string(),
            run_id: ctx.run_id,
            case_id: (ctx.case_ids)(record.case_index),
            repeat: record.repeat,
            prompt_id: ctx.prompt_id,
            prompt_version: ctx.prompt_version,
            model: &record.model,
            response_hash: record.response_hash.as_deref(),
            latency_ms: record.latency_ms,
            tokens_in: record.tokens_in,
            tokens_out: record.tokens_out,
            attempts: record.attempts,
            cached: record.cached,
            error: record.error.as_deref(),
            output: &record.output,
            scores: Scores {
                names: ctx.scorer_names,
                scores: &record.scores,
            },
        };
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, &line).expect("call lines serialize");
        self.buffer.push(b'\n');
        self.out
            .write_all(&self.buffer)
            .map_err(|e| Error::write_failed(&self.path, &e))
    }

    /// Pushes buffered lines to the file. The runner calls this whenever no further result
    /// is waiting, so a slow run flushes every line and a fast one batches them.
    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::write_failed(&self.path, &e))
    }
}

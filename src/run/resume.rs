//! Continuing a run: read back the calls it finished, repair a torn last line, and work
//! out which (case, repeat) pairs are still owed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::calls::{self, CallRecord};
use crate::error::{Error, Location, Result};
use crate::golden::GoldenSet;
use crate::score::{Observation, ScorerSet};

/// What a line of calls.jsonl holds that a resumed run needs. Scores are recomputed from
/// the output: the criteria are the same (their hash is checked), so they are too.
#[derive(Deserialize)]
struct StoredCall<'a> {
    // Borrowed from the line where they need no unescaping: they are only compared.
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    #[serde(borrow)]
    prompt_version: Cow<'a, str>,
    #[serde(borrow)]
    case_id: Cow<'a, str>,
    repeat: u32,
    model: String,
    output: String,
    response_hash: Option<String>,
    latency_ms: u64,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    attempts: u32,
    cached: bool,
    error: Option<String>,
}

/// Reads the finished calls of `run_dir`. A last line cut short by a crash (no newline, or
/// not JSON) is removed from the file; a bad line anywhere else is an input error.
/// With `repair` false (reading a finished run for `compare`) the file is never changed: a
/// torn last line is an error instead.
pub fn finished_calls(
    golden: &GoldenSet,
    scorers: &ScorerSet,
    manifest: &super::manifest::Manifest,
    run_dir: &Path,
    repair: bool,
) -> Result<Vec<CallRecord>> {
    let repeats = manifest.repeats;
    // A merged run's lines keep the ids of the shard runs that made them.
    let run_ids: Vec<&str> = if manifest.merged_from.is_empty() {
        vec![manifest.run_id.as_str()]
    } else {
        manifest.merged_from.iter().map(String::as_str).collect()
    };
    let path = run_dir.join(calls::FILE_NAME);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::unreadable(&path, &e)),
    };
    let index: HashMap<&str, usize> = golden
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut seen = HashMap::new();
    let mut good_bytes = 0u64;
    let mut line = Vec::new();
    let mut line_no = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::unreadable(&path, &e))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let complete = line.ends_with(b"\n");
        let parsed = serde_json::from_slice::<StoredCall>(&line);
        let stored = match (parsed, complete) {
            (Ok(stored), true) => stored,
            // The last line of a killed run: drop it, its call is made again. (A whole line
            // that does not parse was written by someone else: an error below.)
            (_, false) => {
                if !repair {
                    return Err(Error::input(
                        Location::line(&path, line_no),
                        "the last line is incomplete: finish the run with `promptgate run --resume`",
                    ));
                }
                truncate(&path, good_bytes)?;
                crate::interrupt::note(format_args!(
                    "promptgate: {}:{line_no}: dropped an incomplete last line; that call is made again",
                    path.display()
                ));
                break;
            }
            (Err(e), true) => {
                return Err(Error::input(
                    Location::line(&path, line_no),
                    format!("not a calls.jsonl line: {e}"),
                ));
            }
        };
        good_bytes += read as u64;
        let Some(&case_index) = index.get(stored.case_id.as_ref()) else {
            return Err(Error::input(
                Location::line(&path, line_no),
                format!(
                    "case {:?} is not in {}",
                    stored.case_id,
                    golden.path.display()
                ),
            ));
        };
        if stored.prompt_version != manifest.identity.prompt.version
            || !run_ids.contains(&stored.run_id.as_ref())
        {
            return Err(Error::input(
                Location::line(&path, line_no),
                format!(
                    "the line was written by run {} of prompt version {}, not by this run ({} of {})",
                    stored.run_id,
                    crate::digest::short(&stored.prompt_version),
                    run_ids.join(", "),
                    crate::digest::short(&manifest.identity.prompt.version)
                ),
            ));
        }
        if stored.repeat >= repeats {
            return Err(Error::input(
                Location::line(&path, line_no),
                format!(
                    "repeat {} is beyond the run's {repeats} repeats",
                    stored.repeat
                ),
            ));
        }
        if let Some(first) = seen.insert((case_index, stored.repeat), line_no) {
            return Err(Error::input(
                Location::line(&path, line_no),
                format!(
                    "case {:?} repeat {} is already on line {first}",
                    stored.case_id, stored.repeat
                ),
            ));
        }
        records.push(record_of(golden, scorers, case_index, stored));
    }
    Ok(records)
}

fn record_of(
    golden: &GoldenSet,
    scorers: &ScorerSet,
    case_index: usize,
    stored: StoredCall<'_>,
) -> CallRecord {
    let scores = if stored.error.is_none() {
        scorers.score(
            case_index,
            &Observation {
                output: &stored.output,
                latency_ms: stored.latency_ms,
                case: &golden.cases[case_index],
            },
        )
    } else {
        Vec::new()
    };
    let finished_at = humantime::parse_rfc3339(&stored.ts).unwrap_or(std::time::SystemTime::now());
    CallRecord {
        case_index,
        repeat: stored.repeat,
        finished_at,
        model: stored.model,
        output: stored.output,
        response_hash: stored.response_hash,
        latency_ms: stored.latency_ms,
        tokens_in: stored.tokens_in,
        tokens_out: stored.tokens_out,
        attempts: stored.attempts,
        cached: stored.cached,
        error: stored.error,
        scores,
    }
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .map_err(|e| Error::write_failed(path, &e))
}

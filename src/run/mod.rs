//! The runner: schedules calls with bounded concurrency and fans each finished call out to
//! its consumers (the calls.jsonl writer, the progress display, the tally the verdict is
//! judged on). It never prints results itself; reporters render the outcome.

pub mod cache;
pub mod calls;
pub mod manifest;
mod progress;
pub mod resume;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::backend::Request;
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::gate::{self, Failure, Sample, SlotScore};
use crate::plan::RunPlan;
use crate::report::Report;
use crate::score::{Observation, snippet};
use cache::Cache;
use calls::{CallLog, CallRecord, LineContext};
use manifest::{Identity, Manifest, Status};
use progress::Progress;

/// How long in-flight calls may finish after Ctrl-C before they are abandoned.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);
/// Results taken off the channel at once: one wake-up per batch, not per call.
const RECEIVE_BATCH: usize = 256;
/// Characters of a failing output kept for reports.
const FAILING_OUTPUT_CHARS: usize = 300;

/// The manifest verdict of a finished shard: recorded, not judged.
pub const PARTIAL: &str = "partial";

pub struct RunOutcome {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// None for a shard, which is not judged.
    pub report: Option<Report>,
    /// One per (case, repeat), in golden order.
    pub samples: Vec<Sample>,
}

/// A fresh, unique run directory: time to the millisecond plus a random suffix, created
/// with `create_dir` so two runs can never share one.
fn create_run_dir(out: &Path) -> Result<(String, PathBuf)> {
    std::fs::create_dir_all(out).map_err(|e| Error::write_failed(out, &e))?;
    loop {
        let run_id = new_run_id();
        let dir = out.join(&run_id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((run_id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::write_failed(&dir, &e)),
        }
    }
}

/// Time to the millisecond plus a random suffix.
pub fn new_run_id() -> String {
    let stamp: String = humantime::format_rfc3339_millis(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{:06x}", fastrand::u32(..0x100_0000))
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Renders, calls (or reads the cache) and scores one (case, repeat). A call that fails
/// for good becomes a record with an `error` and no scores: it fails every scorer.
async fn call_one(plan: &RunPlan, case_index: usize, repeat: u32) -> Result<CallRecord> {
    let case = &plan.golden.cases[case_index];
    let vars = crate::template::context(&case.vars);
    let messages = plan.prompt.render(&vars).map_err(|e| {
        Error::input(
            Location::line(&plan.golden.path, case.line),
            format!("case {:?}: {}: {e}", case.id, plan.prompt.path.display()),
        )
    })?;
    let request = Request {
        prompt_id: &plan.prompt.id,
        prompt_version: &plan.prompt.version,
        model: &plan.prompt.model,
        messages: &messages,
        vars: &case.vars,
        case_id: &case.id,
        repeat,
    };
    let cache_key = plan.cache.as_ref().map(|_| {
        Cache::key(
            &plan.cache_identity(),
            &plan.prompt.model,
            &messages,
            repeat,
        )
    });
    let cached = match (&plan.cache, &cache_key) {
        (Some(cache), Some(key)) => cache.get(key),
        _ => None,
    };
    let mut record = CallRecord {
        case_index,
        repeat,
        finished_at: SystemTime::now(),
        model: plan.prompt.model.name.clone(),
        output: String::new(),
        response_hash: None,
        latency_ms: 0,
        tokens_in: None,
        tokens_out: None,
        attempts: 0,
        cached: cached.is_some(),
        error: None,
        scores: Vec::new(),
    };
    let response = match cached {
        Some(entry) => {
            let (response, latency_ms) = entry.response();
            record.latency_ms = latency_ms;
            response
        }
        None => {
            let attempted = plan.policy.call(&plan.backend, &request).await?;
            record.attempts = attempted.attempts;
            record.latency_ms = attempted.latency.as_millis() as u64;
            match attempted.result {
                Ok(response) => {
                    if let (Some(cache), Some(key)) = (&plan.cache, &cache_key) {
                        cache.put(
                            key,
                            &cache::Entry {
                                output: response.output.clone(),
                                tokens_in: response.tokens_in,
                                tokens_out: response.tokens_out,
                                model: response.model.clone(),
                                latency_ms: record.latency_ms,
                            },
                        );
                    }
                    response
                }
                Err(reason) => {
                    record.finished_at = SystemTime::now();
                    record.error = Some(reason);
                    return Ok(record);
                }
            }
        }
    };
    record.scores = plan.scorers.score(
        case_index,
        &Observation {
            output: &response.output,
            latency_ms: record.latency_ms,
            case,
        },
    );
    record.finished_at = SystemTime::now();
    record.model = response.model;
    record.response_hash = Some(digest::sha256_id(response.output.as_bytes()));
    record.tokens_in = response.tokens_in;
    record.tokens_out = response.tokens_out;
    record.output = response.output;
    Ok(record)
}

/// What the workers share: the queue position, the stop flag, and the count of calls that
/// failed for good (checked by the worker itself, so no call starts after the budget is
/// spent).
struct Schedule {
    pending: Vec<usize>,
    next: AtomicUsize,
    stop: AtomicBool,
    failed_calls: AtomicUsize,
    allowed_failures: usize,
}

async fn worker(
    plan: Arc<RunPlan>,
    schedule: Arc<Schedule>,
    results: mpsc::Sender<Result<CallRecord>>,
) {
    let repeat = plan.repeat as usize;
    while !schedule.stop.load(Ordering::Relaxed) {
        let position = schedule.next.fetch_add(1, Ordering::Relaxed);
        let Some(&index) = schedule.pending.get(position) else {
            break;
        };
        let result = call_one(&plan, index / repeat, (index % repeat) as u32).await;
        if let Ok(record) = &result
            && record.error.is_some()
            && schedule.failed_calls.fetch_add(1, Ordering::Relaxed) + 1 > schedule.allowed_failures
        {
            schedule.stop.store(true, Ordering::Relaxed);
        }
        if results.send(result).await.is_err() {
            break;
        }
    }
}

/// Calls that failed for good, against the share `--max-error-rate` allows.
struct CallErrors {
    allowed: usize,
    count: usize,
    max_error_rate: f64,
    examples: Vec<String>,
}

impl CallErrors {
    fn new(max_error_rate: f64, total: usize) -> CallErrors {
        CallErrors {
            allowed: (max_error_rate * total as f64).floor() as usize,
            count: 0,
            max_error_rate,
            examples: Vec::new(),
        }
    }

    /// Counts one failed call.
    fn record(&mut self, case_id: &str, reason: &str) {
        self.count += 1;
        if self.examples.len() < 3 {
            self.examples.push(format!("{case_id}: {reason}"));
        }
    }

    fn exceeded(&self) -> bool {
        self.count > self.allowed
    }

    fn describe(&self, done: usize, total: usize, calls: &Path) -> String {
        format!(
            "{} call{} failed for good after retries (--max-error-rate {} allows {} of {total}); \
             the run stopped after {done} calls, recorded in {}. First failures: {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.max_error_rate,
            self.allowed,
            calls.display(),
            self.examples.join("; ")
        )
    }
}

/// Turns a finished call into what judging keeps of it.
pub fn sample_of(scorer_names: &[String], record: &CallRecord) -> Sample {
    let scores = record.error.is_none().then(|| {
        record
            .scores
            .iter()
            .map(|(slot, s)| SlotScore {
                slot: *slot,
                score: s.score,
                passed: s.passed,
            })
            .collect::<Vec<_>>()
    });
    let mut sample = Sample {
        case: record.case_index,
        repeat: record.repeat,
        latency_ms: record.latency_ms,
        scores,
        failure: None,
    };
    if !sample.passed() {
        let reasons = match &record.error {
            Some(error) => vec![format!("call failed: {error}")],
            None => record
                .scores
                .iter()
                .filter(|(_, s)| !s.passed)
                .map(|(slot, s)| format!("{}: {}", scorer_names[*slot], s.reason))
                .collect(),
        };
        sample.failure = Some(Box::new(Failure {
            reasons,
            output: snippet(&record.output, FAILING_OUTPUT_CHARS),
        }));
    }
    sample
}

/// Runs the plan to the end and writes the run directory: manifest.json, calls.jsonl
/// (line by line, as calls finish) and report.json.
fn new_manifest(plan: &RunPlan, run_id: &str, identity: Identity) -> Manifest {
    Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.to_string(),
        status: Status::Running,
        started_at: now_rfc3339(),
        finished_at: None,
        identity,
        concurrency: plan.concurrency,
        repeats: plan.repeat,
        shard: plan.shard.map(|s| s.to_string()),
        calls_total: plan.total_calls(),
        calls_done: 0,
        verdict: None,
        settings: plan.settings.clone(),
        merged_from: Vec::new(),
    }
}

/// A run to continue: its directory, manifest and the calls it already finished.
pub struct Resume {
    pub run_dir: PathBuf,
    pub manifest: Manifest,
    pub finished: Vec<CallRecord>,
}

pub async fn execute(plan: Arc<RunPlan>, resume: Option<Resume>) -> Result<RunOutcome> {
    let identity = Identity::of(&plan);
    let total = plan.total_calls();
    let (run_id, run_dir, mut manifest, finished) = match resume {
        Some(resume) => {
            let mut manifest = resume.manifest;
            manifest.status = Status::Running;
            manifest.finished_at = None;
            manifest.verdict = None;
            (
                manifest.run_id.clone(),
                resume.run_dir,
                manifest,
                resume.finished,
            )
        }
        None => {
            let (run_id, run_dir) = create_run_dir(&plan.out_dir)?;
            let manifest = new_manifest(&plan, &run_id, identity.clone());
            (run_id, run_dir, manifest, Vec::new())
        }
    };
    manifest.write(&run_dir)?;
    let mut log = CallLog::open(&run_dir)?;

    let repeat = plan.repeat as usize;
    let all = plan.golden.cases.len() * repeat;
    let mut owed = vec![true; all];
    for record in &finished {
        owed[record.case_index * repeat + record.repeat as usize] = false;
    }
    let pending: Vec<usize> = (0..all)
        .filter(|&i| owed[i] && plan.runs_case(i / repeat))
        .collect();
    drop(owed);
    let mut samples: Vec<Sample> = Vec::with_capacity(total.min(1 << 20));
    let mut call_errors = CallErrors::new(plan.max_error_rate, total);
    let mut failing = 0;
    for record in &finished {
        if let Some(reason) = &record.error {
            call_errors.record(&plan.golden.cases[record.case_index].id, reason);
        }
        let sample = sample_of(&plan.scorers.names, record);
        failing += !sample.passed() as usize;
        samples.push(sample);
    }
    drop(finished);

    let owed_calls = pending.len();
    let schedule = Arc::new(Schedule {
        pending,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(call_errors.exceeded()),
        failed_calls: AtomicUsize::new(call_errors.count),
        allowed_failures: call_errors.allowed,
    });
    let stop = &schedule.stop;
    let (tx, mut rx) = mpsc::channel(plan.concurrency.max(64) * 4);
    let mut workers = JoinSet::new();
    for _ in 0..plan.concurrency.min(owed_calls) {
        workers.spawn(worker(plan.clone(), schedule.clone(), tx.clone()));
    }
    drop(tx);

    let case_id = |i: usize| plan.golden.cases[i].id.as_str();
    let ctx = LineContext {
        run_id: &run_id,
        prompt_id: &plan.prompt.id,
        prompt_version: &plan.prompt.version,
        scorer_names: &plan.scorers.names,
        case_ids: &case_id,
    };
    let mut progress = Progress::new(plan.show_progress, owed_calls);
    let mut fatal: Option<Error> = None;
    let mut interrupted_at: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = crate::interrupt::wait();
    tokio::pin!(ctrl_c);

    let mut batch = Vec::with_capacity(RECEIVE_BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, RECEIVE_BATCH) => {
                if received == 0 {
                    break;
                }
                for message in batch.drain(..) {
                    let record = match message {
                        Ok(record) => record,
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            fatal.get_or_insert(e);
                            continue;
                        }
                    };
                    if fatal.is_some() {
                        continue;
                    }
                    if let Err(e) = log.append(&ctx, &record) {
                        stop.store(true, Ordering::Relaxed);
                        fatal.get_or_insert(e);
                        continue;
                    }
                    if let Some(reason) = &record.error {
                        // The workers stop themselves once the budget is spent; this keeps
                        // the count and the examples for the message.
                        call_errors.record(plan.golden.cases[record.case_index].id.as_str(), reason);
                    }
                    let sample = sample_of(&plan.scorers.names, &record);
                    failing += !sample.passed() as usize;
                    samples.push(sample);
                    progress.call_finished(failing);
                }
                // Flush whenever nothing more is waiting: every line of a slow run reaches
                // the disk as its call finishes; a fast run is written in batches.
                if rx.is_empty()
                    && let Err(e) = log.flush()
                {
                    stop.store(true, Ordering::Relaxed);
                    fatal.get_or_insert(e);
                }
            }
            _ = &mut ctrl_c, if interrupted_at.is_none() => {
                stop.store(true, Ordering::Relaxed);
                interrupted_at = Some(Instant::now());
                progress.finish();
                crate::interrupt::note(format_args!("promptgate: interrupted; waiting up to {}s for calls in flight", INTERRUPT_GRACE.as_secs()));
            }
            _ = ticker.tick() => {
                progress.tick();
                if interrupted_at.is_some_and(|at| at.elapsed() >= INTERRUPT_GRACE) {
                    workers.abort_all();
                    break;
                }
            }
        }
    }
    progress.finish();
    let flushed = log.flush();
    manifest.calls_done = samples.len();
    manifest.finished_at = Some(now_rfc3339());

    if let Some(error) = fatal.or(flushed.err()) {
        manifest.status = Status::Failed;
        // The original error is what the user must act on; a failure to record it is secondary.
        let _ = manifest.write(&run_dir);
        return Err(error);
    }
    if call_errors.exceeded() {
        manifest.status = Status::Failed;
        manifest.write(&run_dir)?;
        return Err(Error::infrastructure(call_errors.describe(
            samples.len(),
            total,
            &run_dir.join(calls::FILE_NAME),
        )));
    }
    if interrupted_at.is_some() {
        manifest.status = Status::Interrupted;
        manifest.write(&run_dir)?;
        return Err(Error::Interrupted(format!(
            "{} of {total} calls finished; they are in {}; finish with `promptgate run --resume {}`",
            samples.len(),
            run_dir.join(calls::FILE_NAME).display(),
            run_dir.display()
        )));
    }

    // Workers finish in any order; judge and report in golden order.
    samples.sort_unstable_by_key(|s| (s.case, s.repeat));
    if samples.len() != total {
        manifest.status = Status::Failed;
        manifest.write(&run_dir)?;
        return Err(Error::infrastructure(format!(
            "{} of {total} calls were recorded; the run is incomplete (see {})",
            samples.len(),
            run_dir.join(calls::FILE_NAME).display()
        )));
    }
    if plan.shard.is_some() {
        // A shard's gates cannot be judged on part of the golden set: `merge` judges.
        manifest.status = Status::Completed;
        manifest.verdict = Some(PARTIAL.to_string());
        manifest.write(&run_dir)?;
        return Ok(RunOutcome {
            run_id,
            run_dir,
            report: None,
            samples,
        });
    }
    let judgement = gate::judge(
        &plan.criteria,
        &plan.golden,
        &plan.scorers,
        plan.repeat,
        &samples,
    );
    let report = Report::new(&run_id, identity, plan.repeat, judgement);
    report.write_json(&run_dir.join(crate::report::JSON_FILE_NAME))?;

    manifest.status = Status::Completed;
    manifest.verdict = Some(report.verdict_word().to_string());
    manifest.write(&run_dir)?;
    Ok(RunOutcome {
        run_id,
        run_dir,
        report: Some(report),
        samples,
    })
}

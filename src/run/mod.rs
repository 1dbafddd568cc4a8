//! The runner: schedules calls with bounded concurrency, scores each finished call and
//! emits it as an event (see `events`); at the end it judges the run through `judging`.
//! Nothing here prints: sinks render what happens.

pub mod cache;
pub mod events;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::backend::{Backend, Request, Response};
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::gate::Sample;
use crate::plan::RunPlan;
use crate::rundir::calls::{self, CallRecord, CallWriter};
use crate::rundir::{self, Manifest, Report, Status};
use crate::score::{JudgeCall, JudgeCheck};
use cache::Cache;
use events::{CallLogSink, RunEvent, RunSink};

/// How long in-flight calls may finish after an interrupt before they are abandoned.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);
/// How long aborted calls may take to let go of the channel before the run stops waiting.
const ABORT_WAIT: Duration = Duration::from_secs(2);
/// Results taken off the channel at once: one wake-up per batch, not per call.
const RECEIVE_BATCH: usize = 256;

pub struct RunOutcome {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// None for a shard, which is not judged.
    pub report: Option<Report>,
    /// One per (case, repeat), in golden order.
    pub samples: Vec<Sample>,
}

/// A run to continue: its directory, manifest, the samples of the calls it finished and
/// the reasons of those that failed for good (case id, reason).
pub struct Resume {
    pub run_dir: PathBuf,
    pub manifest: Manifest,
    pub finished: Vec<Sample>,
    pub failed: Vec<(String, String)>,
}

/// What a worker hands the collector.
#[expect(
    clippy::large_enum_variant,
    reason = "Finished is nearly every message; boxing it would allocate once per call"
)]
enum Message {
    Finished(Result<(usize, CallRecord)>),
    Retrying {
        case: usize,
        repeat: u32,
        attempt: u32,
        reason: String,
        delay: Duration,
    },
}

/// Renders, calls (or reads the cache) and scores one (case, repeat). A call that fails
/// for good becomes a record with an `error` and no scores: it fails every scorer.
async fn call_one(
    plan: &RunPlan,
    run_id: &str,
    case_index: usize,
    repeat: u32,
    on_retry: &mut (dyn FnMut(u32, &str, Duration) + Send),
) -> Result<CallRecord> {
    let golden = &plan.judging.golden;
    let case = &golden.cases[case_index];
    let vars = crate::template::context(&case.vars);
    let messages = plan.prompt.render(&vars).map_err(|e| {
        Error::input(
            Location::line(&golden.path, case.line),
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
    let mut record = CallRecord {
        ts: String::new(),
        run_id: run_id.to_string(),
        case_id: case.id.clone(),
        repeat,
        prompt_id: plan.prompt.id.clone(),
        prompt_version: plan.prompt.version.clone(),
        model: plan.prompt.model.name.clone(),
        response_hash: None,
        latency_ms: 0,
        tokens_in: None,
        tokens_out: None,
        attempts: 0,
        cached: false,
        error: None,
        output: String::new(),
        scores: Vec::new(),
        judge_calls: Vec::new(),
    };
    let answered = call_through_cache(
        plan,
        &plan.backend,
        plan.cache.as_ref(),
        cache_key.as_deref(),
        &request,
        on_retry,
    )
    .await?;
    record.attempts = answered.attempts;
    record.latency_ms = answered.latency_ms;
    record.cached = answered.cached;
    let response = match answered.result {
        Ok(response) => response,
        Err(reason) => {
            record.ts = rundir::now_rfc3339();
            record.error = Some(reason);
            return Ok(record);
        }
    };
    for scorer in plan.judging.scorers.for_case(case_index) {
        if let Some(check) = scorer.judge() {
            let call = judge_one(
                plan,
                &scorer.name,
                check,
                case_index,
                &response.output,
                repeat,
                on_retry,
            )
            .await?;
            record.judge_calls.push(call);
        }
    }
    let score = || {
        plan.judging.score(
            case_index,
            &response.output,
            record.latency_ms,
            &record.judge_calls,
        )
    };
    // A scorer program blocks while it runs: the runtime moves its other tasks elsewhere.
    record.scores = if plan.judging.runs_programs() {
        tokio::task::block_in_place(score)
    } else {
        score()
    };
    record.ts = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    record.model = response.model;
    record.response_hash = Some(digest::sha256_id(response.output.as_bytes()));
    record.tokens_in = response.tokens_in;
    record.tokens_out = response.tokens_out;
    record.output = response.output;
    Ok(record)
}

/// Renders the judge prompt of one `llm_judge` scorer for the candidate's `output` and
/// calls the judge (or reads the cache) through the run's CallPolicy. A judge call that
/// fails for good is recorded with its `error`: the scorer then fails the case.
async fn judge_one(
    plan: &RunPlan,
    scorer: &str,
    check: &JudgeCheck,
    case_index: usize,
    output: &str,
    repeat: u32,
    on_retry: &mut (dyn FnMut(u32, &str, Duration) + Send),
) -> Result<JudgeCall> {
    let judge = plan
        .judge
        .as_ref()
        .expect("a plan with llm_judge scorers has a judge");
    let golden = &plan.judging.golden;
    let case = &golden.cases[case_index];
    let vars = check.vars(&case.vars, output, case.expected.as_ref());
    let messages = check.render(&vars).map_err(|e| {
        Error::input(
            Location::line(&golden.path, case.line),
            format!(
                "case {:?}: judge prompt of scorer {scorer:?} ({}): {e}",
                case.id,
                check.prompt.path.display()
            ),
        )
    })?;
    let mut model = check.prompt.model.clone();
    if let Some(name) = &judge.model {
        model.name = name.clone();
    }
    let request = Request {
        prompt_id: &check.prompt.id,
        prompt_version: &check.prompt.version,
        model: &model,
        messages: &messages,
        vars: &vars,
        case_id: &case.id,
        repeat,
    };
    let mut call = JudgeCall {
        scorer: scorer.to_string(),
        prompt_version: check.prompt.version.clone(),
        model: model.name.clone(),
        answer: String::new(),
        answer_hash: None,
        tokens_in: None,
        tokens_out: None,
        latency_ms: 0,
        attempts: 0,
        cached: false,
        error: None,
    };
    let key = judge.cache.as_ref().map(|_| {
        Cache::judge_key(
            &judge.cache_identity(),
            &check.prompt.version,
            &model,
            &messages,
            repeat,
        )
    });
    let answered = call_through_cache(
        plan,
        &judge.backend,
        judge.cache.as_ref(),
        key.as_deref(),
        &request,
        on_retry,
    )
    .await?;
    call.attempts = answered.attempts;
    call.latency_ms = answered.latency_ms;
    call.cached = answered.cached;
    let response = match answered.result {
        Ok(response) => response,
        Err(reason) => {
            call.error = Some(reason);
            return Ok(call);
        }
    };
    call.model = response.model;
    call.answer_hash = Some(digest::sha256_id(response.output.as_bytes()));
    call.tokens_in = response.tokens_in;
    call.tokens_out = response.tokens_out;
    call.answer = response.output;
    Ok(call)
}

/// A call answered from the cache, or made through the run's call policy (retries, pacing,
/// timeout) and then cached: the candidate's and each judge's alike.
struct Answered {
    /// The response, or why the call failed for good.
    result: std::result::Result<Response, String>,
    attempts: u32,
    latency_ms: u64,
    cached: bool,
}

async fn call_through_cache(
    plan: &RunPlan,
    backend: &Backend,
    cache: Option<&Cache>,
    key: Option<&str>,
    request: &Request<'_>,
    on_retry: &mut (dyn FnMut(u32, &str, Duration) + Send),
) -> Result<Answered> {
    let hit = match (cache, key) {
        (Some(cache), Some(key)) => cache.get(key),
        _ => None,
    };
    if let Some(entry) = hit {
        let (response, latency_ms) = entry.response();
        return Ok(Answered {
            result: Ok(response),
            attempts: 0,
            latency_ms,
            cached: true,
        });
    }
    let attempted = plan.policy.call(backend, request, on_retry).await?;
    let latency_ms = attempted.latency.as_millis() as u64;
    if let (Ok(response), Some(cache), Some(key)) = (&attempted.result, cache, key) {
        cache.put(
            key,
            &cache::Entry {
                output: response.output.clone(),
                tokens_in: response.tokens_in,
                tokens_out: response.tokens_out,
                model: response.model.clone(),
                latency_ms,
            },
        );
    }
    Ok(Answered {
        result: attempted.result,
        attempts: attempted.attempts,
        latency_ms,
        cached: false,
    })
}

/// What the workers share: the queue position, the stop flag, and the count of calls that
/// failed for good (checked by the worker itself, so no call starts after the budget is
/// spent).
struct Schedule {
    run_id: String,
    pending: Vec<usize>,
    next: AtomicUsize,
    stop: AtomicBool,
    failed_calls: AtomicUsize,
    allowed_failures: usize,
}

async fn worker(plan: Arc<RunPlan>, schedule: Arc<Schedule>, results: mpsc::Sender<Message>) {
    let repeats = plan.repeat as usize;
    while !schedule.stop.load(Ordering::Relaxed) {
        let position = schedule.next.fetch_add(1, Ordering::Relaxed);
        let Some(&index) = schedule.pending.get(position) else {
            break;
        };
        let (case, repeat) = (index / repeats, (index % repeats) as u32);
        let retries = results.clone();
        // A retry notice is for display: dropped, never waited for, when the queue is full.
        let mut on_retry = move |attempt: u32, reason: &str, delay: Duration| {
            let _ = retries.try_send(Message::Retrying {
                case,
                repeat,
                attempt,
                reason: reason.to_string(),
                delay,
            });
        };
        let result = call_one(&plan, &schedule.run_id, case, repeat, &mut on_retry).await;
        if let Ok(record) = &result
            && record.call_failure().is_some()
            && schedule.failed_calls.fetch_add(1, Ordering::Relaxed) + 1 > schedule.allowed_failures
        {
            schedule.stop.store(true, Ordering::Relaxed);
        }
        let message = Message::Finished(result.map(|record| (case, record)));
        if results.send(message).await.is_err() {
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

    fn describe(&self, done: usize, total: usize, calls: &std::path::Path) -> String {
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

fn new_manifest(plan: &RunPlan, run_id: &str) -> Manifest {
    Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.to_string(),
        status: Status::Running,
        started_at: rundir::now_rfc3339(),
        finished_at: None,
        identity: plan.identity(),
        concurrency: plan.concurrency,
        repeats: plan.repeat,
        shard: plan.shard,
        calls_total: plan.total_calls(),
        calls_done: 0,
        verdict: None,
        settings: plan.settings.clone(),
        merged_from: Vec::new(),
    }
}

/// Runs the plan to the end and writes the run directory: manifest.json, calls.jsonl
/// (line by line, as calls finish, through the log sink) and report.json. `sink` hears
/// every event after the log.
pub async fn execute(
    plan: Arc<RunPlan>,
    resume: Option<Resume>,
    sink: &mut dyn RunSink,
) -> Result<RunOutcome> {
    let total = plan.total_calls();
    let (run_id, run_dir, mut manifest, mut samples, failed) = match resume {
        Some(resume) => {
            let mut manifest = resume.manifest;
            manifest.status = Status::Running;
            manifest.finished_at = None;
            manifest.verdict = None;
            let run_id = manifest.run_id.clone();
            (
                run_id,
                resume.run_dir,
                manifest,
                resume.finished,
                resume.failed,
            )
        }
        None => {
            let (run_id, run_dir) = rundir::create(&plan.out_dir)?;
            let manifest = new_manifest(&plan, &run_id);
            (run_id, run_dir, manifest, Vec::new(), Vec::new())
        }
    };
    manifest.write(&run_dir)?;
    let mut log = CallLogSink(CallWriter::open(&run_dir)?);

    let repeats = plan.repeat as usize;
    let golden = &plan.judging.golden;
    let all = golden.cases.len() * repeats;
    let mut owed = vec![true; all];
    for sample in &samples {
        owed[sample.case * repeats + sample.repeat as usize] = false;
    }
    let pending: Vec<usize> = (0..all)
        .filter(|&i| owed[i] && plan.runs_case(i / repeats))
        .collect();
    drop(owed);
    samples.reserve(pending.len().min(1 << 20));
    let mut call_errors = CallErrors::new(plan.max_error_rate, total);
    for (case_id, reason) in &failed {
        call_errors.record(case_id, reason);
    }
    let mut failing = samples.iter().filter(|s| !s.passed()).count();

    let owed_calls = pending.len();
    let schedule = Arc::new(Schedule {
        run_id: run_id.clone(),
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

    let mut fatal: Option<Error> = None;
    let mut worker_error: Option<Error> = None;
    let mut emit = |event: &RunEvent<'_>, fatal: &mut Option<Error>| {
        let result = log.event(event).and_then(|()| sink.event(event));
        if let Err(e) = result {
            stop.store(true, Ordering::Relaxed);
            fatal.get_or_insert(e);
        }
    };
    emit(
        &RunEvent::Started {
            run_id: &run_id,
            run_dir: &run_dir,
            owed: owed_calls,
            total,
        },
        &mut fatal,
    );
    let mut interrupted_at: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let interrupt = crate::interrupt::wait();
    tokio::pin!(interrupt);

    let mut batch = Vec::with_capacity(RECEIVE_BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, RECEIVE_BATCH) => {
                if received == 0 {
                    break;
                }
                for message in batch.drain(..) {
                    let (case, record) = match message {
                        Message::Finished(Ok(finished)) => finished,
                        Message::Finished(Err(e)) => {
                            // Calls already answered are still recorded (they were paid
                            // for, and a resume need not make them again).
                            stop.store(true, Ordering::Relaxed);
                            worker_error.get_or_insert(e);
                            continue;
                        }
                        Message::Retrying { case, repeat, attempt, reason, delay } => {
                            emit(&RunEvent::Retrying {
                                case_id: &golden.cases[case].id,
                                repeat,
                                attempt,
                                reason: &reason,
                                delay,
                            }, &mut fatal);
                            continue;
                        }
                    };
                    // A sink that failed (the calls.jsonl writer) records nothing more.
                    if fatal.is_some() {
                        continue;
                    }
                    if let Some(reason) = record.call_failure() {
                        // The workers stop themselves once the budget is spent; this keeps
                        // the count and the examples for the message.
                        call_errors.record(&record.case_id, &reason);
                    }
                    let sample = plan.judging.sample(case, &record);
                    let passed = sample.passed();
                    failing += !passed as usize;
                    emit(&RunEvent::CallFinished { record: &record, passed, failing }, &mut fatal);
                    if fatal.is_none() {
                        samples.push(sample);
                    }
                }
                if rx.is_empty() {
                    emit(&RunEvent::Drained, &mut fatal);
                }
            }
            _ = &mut interrupt, if interrupted_at.is_none() => {
                stop.store(true, Ordering::Relaxed);
                interrupted_at = Some(Instant::now());
                emit(&RunEvent::Interrupted { grace: INTERRUPT_GRACE }, &mut fatal);
            }
            _ = ticker.tick() => {
                emit(&RunEvent::Tick, &mut fatal);
                let waited = interrupted_at.map_or(Duration::ZERO, |at| at.elapsed());
                if waited >= INTERRUPT_GRACE {
                    // Aborted workers drop their senders, so the loop still takes every
                    // answer already in the channel and ends when it closes; a call that
                    // cannot be cancelled is left behind after a little longer.
                    workers.abort_all();
                    if waited >= INTERRUPT_GRACE + ABORT_WAIT {
                        break;
                    }
                }
            }
        }
    }
    emit(&RunEvent::Drained, &mut fatal);
    manifest.calls_done = samples.len();
    manifest.finished_at = Some(rundir::now_rfc3339());
    let calls_path = run_dir.join(calls::FILE_NAME);

    let ended = |status: Status, manifest: &mut Manifest| {
        manifest.status = status;
        manifest.write(&run_dir)
    };
    let finished = |status: Status, sink: &mut dyn RunSink| {
        // The run's end is already decided; a sink failing to show it changes nothing.
        let _ = sink.event(&RunEvent::Finished {
            status,
            report: None,
        });
    };
    if let Some(error) = worker_error.or(fatal) {
        // The original error is what the user must act on; a failure to record it is secondary.
        let _ = ended(Status::Failed, &mut manifest);
        finished(Status::Failed, sink);
        return Err(error);
    }
    if call_errors.exceeded() {
        let _ = ended(Status::Failed, &mut manifest);
        finished(Status::Failed, sink);
        return Err(Error::infrastructure(call_errors.describe(
            samples.len(),
            total,
            &calls_path,
        )));
    }
    if interrupted_at.is_some() || crate::interrupt::requested() {
        let _ = ended(Status::Interrupted, &mut manifest);
        finished(Status::Interrupted, sink);
        return Err(Error::Interrupted(format!(
            "{} of {total} calls finished; they are in {}; finish with `promptgate run --resume {}`",
            samples.len(),
            calls_path.display(),
            run_dir.display()
        )));
    }
    if samples.len() != total {
        let _ = ended(Status::Failed, &mut manifest);
        finished(Status::Failed, sink);
        return Err(Error::infrastructure(format!(
            "{} of {total} calls were recorded; the run is incomplete (see {})",
            samples.len(),
            calls_path.display()
        )));
    }
    samples.sort_unstable_by_key(|s| (s.case, s.repeat));
    if plan.shard.is_some() {
        // A shard's gates cannot be judged on part of the golden set: `merge` judges.
        manifest.verdict = Some(rundir::PARTIAL.to_string());
        ended(Status::Completed, &mut manifest)?;
        finished(Status::Completed, sink);
        return Ok(RunOutcome {
            run_id,
            run_dir,
            report: None,
            samples,
        });
    }
    let report = plan.judging.judge(
        &run_id,
        manifest.identity.clone(),
        plan.repeat,
        &mut samples,
    );
    report.write_json(&run_dir.join(rundir::report::FILE_NAME))?;
    manifest.verdict = Some(report.verdict_word().to_string());
    ended(Status::Completed, &mut manifest)?;
    sink.event(&RunEvent::Finished {
        status: Status::Completed,
        report: Some(&report),
    })?;
    Ok(RunOutcome {
        run_id,
        run_dir,
        report: Some(report),
        samples,
    })
}

//! Command dispatch: the library's entry point for the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{
    BackendKind, Cli, Command, CompareArgs, GoldenArgs, HashArgs, RunArgs, RunOptions,
};
use crate::error::{Error, Location, Result};
use crate::exit;
use crate::golden::GoldenSet;
use crate::plan::{Judging, RunPlan};
use crate::project::Project;
use crate::prompt::Prompt;
use crate::run::manifest::Manifest;
use crate::{compare, report, run};

/// Runs one command and returns the process exit code.
pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Compare(args) => compare_command(&args),
        Command::Hash(args) => hash_command(&args),
        Command::Golden(args) => golden_command(&args),
    }
}

fn run_command(args: &RunArgs) -> Result<i32> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))?;
    let (plan, resume) = match &args.resume {
        Some(run_dir) => {
            let (plan, resume) = resume_plan(args, run_dir, &cwd)?;
            (plan, Some(resume))
        }
        None => {
            let (Some(prompt), Some(criteria)) = (&args.prompt, &args.criteria) else {
                return Err(Error::usage(
                    "run needs --prompt and --criteria (or --resume RUN_DIR)",
                ));
            };
            (RunPlan::build(prompt, criteria, &args.options, &cwd)?, None)
        }
    };
    let plan = Arc::new(plan);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(run::execute(plan.clone(), resume))?;
    let shown_dir = outcome
        .run_dir
        .strip_prefix(&cwd)
        .unwrap_or(&outcome.run_dir)
        .display()
        .to_string();
    print_stdout(&report::terminal::summary(&outcome.report, &shown_dir));
    Ok(if outcome.report.passed() {
        exit::PASS
    } else {
        exit::GATE_FAILED
    })
}

/// Rebuilds the plan of an earlier run from its manifest and checks that the prompt, golden
/// set and criteria are still the ones it ran with.
fn resume_plan(args: &RunArgs, run_dir: &Path, cwd: &Path) -> Result<(RunPlan, run::Resume)> {
    let manifest = Manifest::load(run_dir)?;
    let manifest_path = run_dir.join(run::manifest::FILE_NAME);
    let root = Project::discover(cwd)?.root;
    let settings = &manifest.settings;
    let backend = match settings.backend.as_str() {
        "mock" => BackendKind::Mock,
        "command" => BackendKind::Command,
        "openai" => BackendKind::Openai,
        other => {
            return Err(Error::input(
                Location::file(&manifest_path),
                format!("backend {other:?} cannot be resumed by this build"),
            ));
        }
    };
    let identity = &manifest.identity;
    let resumed = RunOptions {
        backend: Some(backend),
        mock_rules: settings.mock_rules.as_ref().map(|p| root.join(p)),
        mock_latency_ms: settings.mock_latency_ms,
        command: settings.command.clone(),
        // A redacted endpoint cannot be called: take it from the flags and environment again.
        base_url: settings.base_url.clone().filter(|url| !url.contains("***")),
        api_key_env: settings
            .key_env_var
            .clone()
            .unwrap_or_else(|| args.options.api_key_env.clone()),
        timeout: settings.timeout_secs,
        max_retries: settings.max_retries,
        rpm: settings.rpm,
        max_error_rate: settings.max_error_rate,
        no_cache: !settings.cache,
        concurrency: Some(manifest.concurrency),
        repeat: manifest.repeats,
        out: None,
        no_progress: args.options.no_progress,
    };
    let plan = RunPlan::build(
        &root.join(&identity.prompt.path),
        &root.join(&identity.criteria.path),
        &resumed,
        cwd,
    )?;
    let changed = |what: &str, path: &str, then: &str, now: &str| {
        Error::input(
            Location::file(root.join(path)),
            format!(
                "{what} changed since run {} started ({} then, {} now): a resumed run must \
                 finish what it started; start a new run instead",
                manifest.run_id,
                crate::digest::short(then),
                crate::digest::short(now)
            ),
        )
    };
    if plan.prompt.version != identity.prompt.version {
        return Err(changed(
            "the prompt version",
            &identity.prompt.path,
            &identity.prompt.version,
            &plan.prompt.version,
        ));
    }
    if plan.golden.hash != identity.golden.hash {
        return Err(changed(
            "the golden set",
            &identity.golden.path,
            &identity.golden.hash,
            &plan.golden.hash,
        ));
    }
    if plan.criteria.hash != identity.criteria.hash {
        return Err(changed(
            "the criteria file",
            &identity.criteria.path,
            &identity.criteria.hash,
            &plan.criteria.hash,
        ));
    }
    let finished = run::resume::finished_calls(&plan.golden, &plan.scorers, plan.repeat, run_dir)?;
    Ok((
        plan,
        run::Resume {
            run_dir: run_dir.to_path_buf(),
            manifest,
            finished,
        },
    ))
}

/// The report files `--report FMT[=PATH]` asks for.
fn report_targets(specs: &[String], default_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    specs
        .iter()
        .map(|spec| {
            let (format, path) = match spec.split_once('=') {
                Some((format, path)) => (format, Some(PathBuf::from(path))),
                None => (spec.as_str(), None),
            };
            let ext = match format {
                "json" => "json",
                "md" => "md",
                other => {
                    return Err(Error::usage(format!(
                        "--report {other}: compare writes json or md"
                    )));
                }
            };
            let path = path.unwrap_or_else(|| default_dir.join(format!("comparison.{ext}")));
            Ok((format.to_string(), path))
        })
        .collect()
}

/// One side of a comparison: a finished run directory read as it is, or a prompt file run
/// now with the given options.
fn compare_side(
    label: &str,
    path: &Path,
    args: &CompareArgs,
    judging: &Judging,
    runtime: &tokio::runtime::Runtime,
    cwd: &Path,
) -> Result<compare::Side> {
    if path.is_dir() {
        let manifest = Manifest::load(path)?;
        let at = || Location::file(path.join(run::manifest::FILE_NAME));
        if manifest.status != run::manifest::Status::Completed {
            return Err(Error::input(
                at(),
                format!(
                    "the {label} run is {:?}, not completed: finish it with `promptgate run --resume {}`",
                    manifest.status,
                    path.display()
                ),
            ));
        }
        let identity = &manifest.identity;
        if identity.golden.hash != judging.golden.hash {
            return Err(Error::input(
                at(),
                format!(
                    "the {label} run used golden set {} ({}), the criteria pin {}: both sides must run the same golden set",
                    identity.golden.path,
                    crate::digest::short(&identity.golden.hash),
                    crate::digest::short(&judging.golden.hash)
                ),
            ));
        }
        if identity.criteria.hash != judging.criteria.hash {
            return Err(Error::input(
                at(),
                format!(
                    "the {label} run was judged by criteria {} version {} ({}), not {} version {} ({}): both sides must use the same criteria",
                    identity.criteria.path,
                    identity.criteria.version,
                    crate::digest::short(&identity.criteria.hash),
                    judging.criteria.path.display(),
                    judging.criteria.version,
                    crate::digest::short(&judging.criteria.hash)
                ),
            ));
        }
        let records =
            run::resume::finished_calls(&judging.golden, &judging.scorers, manifest.repeats, path)?;
        let mut samples: Vec<crate::gate::Sample> = records
            .iter()
            .map(|r| run::sample_of(&judging.scorers.names, r))
            .collect();
        samples.sort_unstable_by_key(|s| (s.case, s.repeat));
        let report_path = path.join(report::JSON_FILE_NAME);
        let report: report::Report = serde_json::from_str(&crate::error::read_text(&report_path)?)
            .map_err(|e| {
                Error::input(
                    Location::line(&report_path, e.line()),
                    format!("not a promptgate report: {e}"),
                )
            })?;
        Ok(compare::Side {
            run_dir: path.display().to_string(),
            report,
            samples,
        })
    } else {
        let plan = Arc::new(RunPlan::build(path, &args.criteria, &args.options, cwd)?);
        let outcome = runtime.block_on(run::execute(plan, None))?;
        let shown = outcome
            .run_dir
            .strip_prefix(cwd)
            .unwrap_or(&outcome.run_dir)
            .display()
            .to_string();
        eprintln!(
            "promptgate: {label} {} ran as {shown} (verdict {})",
            path.display(),
            outcome.report.verdict_word()
        );
        Ok(compare::Side {
            run_dir: shown,
            report: outcome.report,
            samples: outcome.samples,
        })
    }
}

fn compare_command(args: &CompareArgs) -> Result<i32> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))?;
    let judging = Judging::load(&args.criteria)?;
    if args.resamples == 0 {
        return Err(Error::usage("--resamples must be at least 1"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    let side = |label: &str, path: &Path| compare_side(label, path, args, &judging, &runtime, &cwd);
    let (baseline, candidate) = if args.baseline.is_dir() && args.candidate.is_dir() {
        // Reading and re-scoring two finished runs is independent work: one core each.
        std::thread::scope(|scope| {
            let baseline = scope.spawn(|| side("baseline", &args.baseline));
            let candidate = side("candidate", &args.candidate);
            let baseline = baseline
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (baseline, candidate)
        })
    } else {
        // Prompt files are run one after the other, each with the full --concurrency.
        (
            side("baseline", &args.baseline),
            side("candidate", &args.candidate),
        )
    };
    let (baseline, candidate) = (baseline?, candidate?);
    let repeats = baseline.report.repeats;
    if candidate.report.repeats != repeats {
        return Err(Error::usage(format!(
            "the baseline has {repeats} repeats per case and the candidate {}: compare runs made with the same --repeat",
            candidate.report.repeats
        )));
    }
    let total = judging.golden.cases.len() * repeats as usize;
    for (label, side) in [("baseline", &baseline), ("candidate", &candidate)] {
        if side.samples.len() != total {
            return Err(Error::input(
                Location::file(&side.run_dir),
                format!(
                    "the {label} run has {} of {total} calls: a comparison needs complete runs",
                    side.samples.len()
                ),
            ));
        }
    }
    let comparison = compare::compare(
        &compare::Inputs {
            golden: &judging.golden,
            scorers: &judging.scorers,
            must_pass: &judging.criteria.must_pass,
            policy: judging.criteria.compare.clone().unwrap_or_default(),
            repeats,
            seed: args.seed,
            resamples: args.resamples,
        },
        &baseline,
        &candidate,
    );
    let default_dir = if Path::new(&candidate.run_dir).is_absolute() {
        PathBuf::from(&candidate.run_dir)
    } else {
        cwd.join(&candidate.run_dir)
    };
    for (format, path) in report_targets(&args.report, &default_dir)? {
        let text = match format.as_str() {
            "json" => {
                let mut text =
                    serde_json::to_string_pretty(&comparison).expect("comparisons serialize");
                text.push('\n');
                text
            }
            _ => report::compare::markdown(&comparison),
        };
        std::fs::write(&path, text).map_err(|e| Error::write_failed(&path, &e))?;
    }
    print_stdout(&report::compare::terminal(&comparison));
    Ok(match comparison.verdict {
        crate::gate::Verdict::Pass => exit::PASS,
        crate::gate::Verdict::Fail => exit::GATE_FAILED,
    })
}

fn hash_command(args: &HashArgs) -> Result<i32> {
    let prompt = Prompt::load(&args.prompt)?;
    print_stdout(&format!(
        "{}\nshort: {}\n",
        prompt.version,
        prompt.short_version()
    ));
    Ok(exit::PASS)
}

fn golden_command(args: &GoldenArgs) -> Result<i32> {
    let golden = GoldenSet::load(&args.golden)?;
    print_stdout(&format!("{}\ncases: {}\n", golden.hash, golden.cases.len()));
    Ok(exit::PASS)
}

/// Writes to stdout without panicking when it is closed (`promptgate run ... | head`): the
/// exit code and the run directory carry the result either way.
fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

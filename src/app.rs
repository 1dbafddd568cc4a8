//! Command dispatch: the library's entry point for the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{
    BackendKind, Cli, Command, CompareArgs, ExportCommand, GateArgs, GoldenArgs, HashArgs,
    LedgerCommand, MergeArgs, ReportArgs, ReportFormat, RunArgs, RunOptions,
};
use crate::error::{Error, Location, Result};
use crate::exit;
use crate::golden::GoldenSet;
use crate::plan::{Judging, RunPlan, Shard};
use crate::project::Project;
use crate::prompt::Prompt;
use crate::report::view::RunView;
use crate::run::manifest::Manifest;
use crate::{compare, governance, report, run};

/// Runs one command and returns the process exit code.
pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Compare(args) => compare_command(&args),
        Command::Hash(args) => hash_command(&args),
        Command::Golden(args) => golden_command(&args),
        Command::Gate(args) => gate_command(&args),
        Command::Merge(args) => merge_command(&args),
        Command::Report(args) => report_command(&args),
        Command::Approve(args) => governance::approve(
            &cwd()?,
            &args.prompt,
            &args.env,
            args.actor.actor.as_deref(),
            args.reason,
        ),
        Command::Promote(args) => governance::promote(
            &cwd()?,
            &governance::PromoteRequest {
                prompt: &args.prompt,
                env: &args.to,
                evidence: &args.evidence,
                actor: args.actor.actor.as_deref(),
                reason: args.reason,
            },
        ),
        Command::Rollback(args) => governance::rollback(
            &cwd()?,
            &governance::RollbackRequest {
                prompt_id: &args.prompt_id,
                env: &args.env,
                to: args.to.as_deref(),
                actor: args.actor.actor.as_deref(),
                reason: args.reason,
            },
        ),
        Command::Show(args) => governance::show(&cwd()?, &args.version),
        Command::Status(args) => {
            governance::status(&cwd()?, args.format == crate::cli::StatusFormat::Json)
        }
        Command::Ledger(args) => match args.command {
            LedgerCommand::Verify(verify) => {
                governance::verify(&cwd()?, verify.base_ref.as_deref())
            }
        },
        Command::Audit(args) => governance::audit(&cwd()?, args.max_age_days),
        Command::Export(args) => match args.command {
            ExportCommand::Flagd(flagd) => governance::export_flagd(
                &cwd()?,
                &governance::FlagdRequest {
                    env: flagd.env.as_deref(),
                    canary: flagd.canary.as_deref(),
                    percent: flagd.percent,
                    output: flagd.output.as_deref(),
                },
            ),
        },
    }
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))
}

/// The async runtime calls run on, listening for Ctrl-C from the start.
fn runtime() -> Result<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::infrastructure(format!("cannot start the async runtime: {e}")))?;
    crate::interrupt::install(&runtime);
    Ok(runtime)
}

/// `--report FMT[=PATH]` specs, checked before any call is made.
fn run_report_specs(specs: &[String]) -> Result<Vec<(ReportFormat, Option<PathBuf>)>> {
    report_specs_into(specs, None)
}

/// `--report` specs whose folders must exist now, or be `created` (a run directory the
/// command makes before writing them).
fn report_specs_into(
    specs: &[String],
    created: Option<&Path>,
) -> Result<Vec<(ReportFormat, Option<PathBuf>)>> {
    specs
        .iter()
        .map(|spec| {
            let (format, path) = match spec.split_once('=') {
                Some((format, path)) if !path.is_empty() => (format, Some(PathBuf::from(path))),
                Some((format, _)) => (format, None),
                None => (spec.as_str(), None),
            };
            let format = ReportFormat::parse(format).ok_or_else(|| {
                Error::usage(format!(
                    "--report {format}: use md, json, html, junit or csv (optionally =PATH)"
                ))
            })?;
            // Found now, not after every call has been made.
            if let Some(folder) = path.as_deref().and_then(Path::parent)
                && !folder.as_os_str().is_empty()
                && !folder.is_dir()
                && Some(folder) != created
            {
                return Err(Error::usage(format!(
                    "--report {spec}: the folder {} does not exist",
                    folder.display()
                )));
            }
            Ok((format, path))
        })
        .collect()
}

fn render(format: ReportFormat, view: &RunView) -> String {
    match format {
        ReportFormat::Md => report::markdown::render(view),
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&view.report).expect("reports serialize");
            text.push('\n');
            text
        }
        ReportFormat::Junit => report::junit::render(view),
        ReportFormat::Csv => report::csv::render(view),
        ReportFormat::Html => report::html::render(view),
    }
}

/// Writes the requested reports of a finished run (without a path: `<run dir>/<stem>.<ext>`)
/// and, inside GitHub Actions, prints the annotations and appends the Markdown report to the
/// job summary.
fn publish(
    run_dir: &Path,
    stem: &str,
    specs: &[(ReportFormat, Option<PathBuf>)],
    view: impl FnOnce() -> Result<RunView>,
) -> Result<()> {
    let github = report::github::is_github_actions();
    if specs.is_empty() && !github {
        return Ok(());
    }
    let view = view()?;
    for (format, path) in specs {
        let path = path
            .clone()
            .unwrap_or_else(|| run_dir.join(format!("{stem}.{}", format.extension())));
        std::fs::write(&path, render(*format, &view))
            .map_err(|e| Error::write_failed(&path, &e))?;
    }
    if github {
        let mut lines = report::github::annotations(&view.report).join("\n");
        lines.push('\n');
        print_stdout(&lines);
        report::github::append_summary(&report::markdown::render_trimmed(
            &view,
            report::github::SUMMARY_BUDGET,
        ))?;
    }
    Ok(())
}

/// Judges a finished run again from its recorded outputs. Read-only: the run's report.json
/// is the evidence a promotion rests on, and stays the judgement of the criteria it names.
fn gate_command(args: &GateArgs) -> Result<i32> {
    let cwd = cwd()?;
    let report_specs = run_report_specs(&args.report)?;
    let run_dir = &args.run_dir;
    if !run_dir.is_dir() {
        return Err(Error::input(
            Location::file(run_dir),
            "no run directory here: gate takes the directory a run printed",
        ));
    }
    // The run's own files are its record: a re-judgement is written beside them, never
    // over them (report.json is the evidence a promotion checks).
    let own = |path: &Path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let same_dir = match (
            folder.map(std::fs::canonicalize),
            std::fs::canonicalize(run_dir),
        ) {
            (Some(Ok(a)), Ok(b)) => a == b,
            (None, Ok(b)) => std::fs::canonicalize(&cwd).is_ok_and(|a| a == b),
            _ => false,
        };
        same_dir
            && [
                report::JSON_FILE_NAME,
                run::manifest::FILE_NAME,
                run::calls::FILE_NAME,
            ]
            .contains(&name)
    };
    for (_, path) in &report_specs {
        if let Some(path) = path
            && own(path)
        {
            return Err(Error::usage(format!(
                "--report {}: that is one of the run's own files; gate writes its reports beside them",
                path.display()
            )));
        }
    }
    let manifest = Manifest::load(run_dir)?;
    manifest.require_whole(run_dir, "gate")?;
    let at = || Location::file(run_dir.join(run::manifest::FILE_NAME));
    if manifest.status != run::manifest::Status::Completed {
        return Err(Error::input(
            at(),
            format!(
                "the run is {:?}, not completed: finish it with `promptgate run --resume {}`",
                manifest.status,
                run_dir.display()
            ),
        ));
    }
    let project = Project::discover(&cwd)?;
    let criteria_path = match &args.criteria {
        Some(path) => path.clone(),
        None => project.resolve(Path::new(&manifest.identity.criteria.path)),
    };
    let judging = Judging::load(&criteria_path)?;
    let identity = &manifest.identity;
    if judging.golden.hash != identity.golden.hash {
        return Err(Error::input(
            at(),
            format!(
                "the run used golden set {} ({}), the criteria {} pin {} ({}): a run can only be judged over the golden set it ran",
                identity.golden.path,
                crate::digest::short(&identity.golden.hash),
                criteria_path.display(),
                judging.golden.path.display(),
                crate::digest::short(&judging.golden.hash)
            ),
        ));
    }
    let repeats = manifest.repeats;
    let records =
        run::resume::finished_calls(&judging.golden, &judging.scorers, &manifest, run_dir, false)?;
    let expected = judging.golden.cases.len() * repeats as usize;
    if records.len() != expected {
        return Err(Error::input(
            Location::file(run_dir.join(run::calls::FILE_NAME)),
            format!(
                "{} of {expected} calls are recorded: the run is incomplete",
                records.len()
            ),
        ));
    }
    let mut samples: Vec<crate::gate::Sample> = records
        .iter()
        .map(|r| run::sample_of(&judging.scorers.names, r))
        .collect();
    samples.sort_unstable_by_key(|s| (s.case, s.repeat));
    let judgement = crate::gate::judge(
        &judging.criteria,
        &judging.golden,
        &judging.scorers,
        repeats,
        &samples,
    );
    let mut identity = identity.clone();
    identity.criteria = run::manifest::CriteriaRef {
        path: project.relative(&judging.criteria.path),
        version: judging.criteria.version,
        hash: judging.criteria.hash.clone(),
    };
    let report = report::Report::new(&manifest.run_id, identity, repeats, judgement);
    let shown = run_dir
        .strip_prefix(&cwd)
        .unwrap_or(run_dir)
        .display()
        .to_string();
    print_stdout(&report::terminal::summary(&report, &shown));
    let passed = report.passed();
    publish(run_dir, "gate", &report_specs, || {
        let calls = records
            .iter()
            .map(|r| report::view::CallLine::of(r, &manifest, &judging))
            .collect();
        let mut view = RunView::new(report, calls);
        view.set_golden(&judging.golden);
        Ok(view)
    })?;
    Ok(if passed {
        exit::PASS
    } else {
        exit::GATE_FAILED
    })
}

fn merge_command(args: &MergeArgs) -> Result<i32> {
    let cwd = cwd()?;
    let report_specs = report_specs_into(&args.report, Some(&args.out))?;
    let (report, _) = crate::merge::merge(&cwd, &args.shards, &args.out)?;
    let shown = args
        .out
        .strip_prefix(&cwd)
        .unwrap_or(&args.out)
        .display()
        .to_string();
    print_stdout(&report::terminal::summary(&report, &shown));
    publish(&args.out, "report", &report_specs, || {
        RunView::load(&args.out)
    })?;
    Ok(if report.passed() {
        exit::PASS
    } else {
        exit::GATE_FAILED
    })
}

fn report_command(args: &ReportArgs) -> Result<i32> {
    if args.run_dir.join(run::manifest::FILE_NAME).is_file() {
        Manifest::load(&args.run_dir)?.require_whole(&args.run_dir, "report")?;
    }
    let view = RunView::load(&args.run_dir)?;
    let text = render(args.format, &view);
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::write_failed(path, &e))?,
        None => print_stdout(&text),
    }
    Ok(exit::PASS)
}

fn run_command(args: &RunArgs) -> Result<i32> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))?;
    let report_specs = run_report_specs(&args.report)?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| Error::usage(format!("--shard {e}")))?;
    let (mut plan, resume) = match &args.resume {
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
    if let Some(shard) = shard {
        plan.set_shard(shard)?;
    }
    if plan.shard.is_some() && !report_specs.is_empty() {
        return Err(Error::usage(
            "--report with a shard: a shard is not judged, so it has no report; merge the shards, then report",
        ));
    }
    let plan = Arc::new(plan);
    let runtime = runtime()?;
    let outcome = runtime.block_on(run::execute(plan.clone(), resume))?;
    let shown_dir = outcome
        .run_dir
        .strip_prefix(&cwd)
        .unwrap_or(&outcome.run_dir)
        .display()
        .to_string();
    let Some(report) = &outcome.report else {
        let shard = plan.shard.map(|s| s.to_string()).unwrap_or_default();
        let failed = outcome
            .samples
            .iter()
            .filter(|s| s.scores.is_none())
            .count();
        print_stdout(&format!(
            "promptgate run {} (shard {shard})\n\nshard {shard} recorded {} calls ({failed} failed); not judged: a shard holds part of the golden set\nrun directory: {shown_dir}\nnext: promptgate merge <all {} shard run directories> --out DIR judges the whole run\n",
            outcome.run_id,
            outcome.samples.len(),
            plan.shard.map_or(0, |s| s.count)
        ));
        return Ok(exit::PASS);
    };
    print_stdout(&report::terminal::summary(report, &shown_dir));
    publish(&outcome.run_dir, "report", &report_specs, || {
        RunView::load(&outcome.run_dir)
    })?;
    Ok(if report.passed() {
        exit::PASS
    } else {
        exit::GATE_FAILED
    })
}

/// The endpoint a resumed openai run calls: the recorded one, or, when it was recorded
/// redacted (credentials in the URL are never stored), the one given again, which must
/// match it. Never a silent fallback to another provider.
fn resume_base_url(
    manifest_path: &Path,
    settings: &run::manifest::Settings,
    args: &RunArgs,
) -> Result<Option<String>> {
    if settings.backend != "openai" {
        return Ok(args.options.base_url.clone());
    }
    let given = args.options.base_url.clone().or_else(|| {
        std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
    });
    let recorded = settings.base_url.clone().unwrap_or_default();
    match given {
        Some(given) => {
            let shown = crate::secrets::redact_url(given.trim_end_matches('/'));
            if shown != recorded {
                return Err(Error::input(
                    Location::file(manifest_path),
                    format!(
                        "the run called {recorded}, not {shown}: resume it against the same endpoint"
                    ),
                ));
            }
            Ok(Some(given))
        }
        None if recorded.contains("***") => Err(Error::input(
            Location::file(manifest_path),
            format!(
                "the run called {recorded}, whose credentials are not stored: pass the URL again with --base-url or OPENAI_BASE_URL"
            ),
        )),
        None => Ok(Some(recorded)),
    }
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
        base_url: resume_base_url(&manifest_path, settings, args)?,
        api_key_env: settings
            .key_env_var
            .clone()
            .unwrap_or_else(|| args.options.api_key_env.clone()),
        timeout: settings.timeout_secs,
        max_retries: settings.max_retries,
        rpm: settings.rpm,
        // The one setting a resume may change: to finish a run that spent its error budget.
        max_error_rate: args
            .options
            .max_error_rate
            .or(Some(settings.max_error_rate)),
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
    for (what, path, then, now) in [
        (
            "the prompt version",
            &identity.prompt.path,
            &identity.prompt.version,
            &plan.prompt.version,
        ),
        (
            "the golden set",
            &identity.golden.path,
            &identity.golden.hash,
            &plan.golden.hash,
        ),
        (
            "the criteria file",
            &identity.criteria.path,
            &identity.criteria.hash,
            &plan.criteria.hash,
        ),
    ] {
        if then != now {
            return Err(changed(what, path, then, now));
        }
    }
    let mut plan = plan;
    if let Some(shard) = &manifest.shard {
        let shard =
            Shard::parse(shard).map_err(|e| Error::input(Location::file(&manifest_path), e))?;
        plan.set_shard(shard)?;
    }
    let finished =
        run::resume::finished_calls(&plan.golden, &plan.scorers, &manifest, run_dir, true)?;
    if let Some(shard) = plan.shard
        && let Some(stray) = finished.iter().find(|r| !shard.holds(r.case_index))
    {
        return Err(Error::input(
            Location::file(run_dir.join(run::calls::FILE_NAME)),
            format!(
                "case {:?} is not in shard {shard}, which this run is",
                plan.golden.cases[stray.case_index].id
            ),
        ));
    }
    Ok((
        plan,
        run::Resume {
            run_dir: run_dir.to_path_buf(),
            manifest,
            finished,
        },
    ))
}

/// Compare's `--report` targets. md, json and html describe the comparison; junit and csv,
/// which list cases for test-report tabs and spreadsheets, describe the candidate run.
fn report_targets(specs: &[String], default_dir: &Path) -> Result<Vec<(ReportFormat, PathBuf)>> {
    Ok(run_report_specs(specs)?
        .into_iter()
        .map(|(format, path)| {
            let path = path.unwrap_or_else(|| {
                default_dir.join(match format {
                    // JUnit and CSV describe cases: the candidate run's, beside it.
                    ReportFormat::Junit | ReportFormat::Csv => {
                        format!("report.{}", format.extension())
                    }
                    _ => format!("comparison.{}", format.extension()),
                })
            });
            (format, path)
        })
        .collect())
}

/// One side of a comparison, checked before anything runs: a finished run directory (its
/// manifest read) or a prompt file (its run planned).
enum Prepared {
    Run(PathBuf, Box<Manifest>),
    Prompt(PathBuf, Arc<RunPlan>),
}

impl Prepared {
    fn repeats(&self) -> u32 {
        match self {
            Prepared::Run(_, manifest) => manifest.repeats,
            Prepared::Prompt(_, plan) => plan.repeat,
        }
    }
}

fn prepare_side(
    label: &str,
    path: &Path,
    args: &CompareArgs,
    judging: &Judging,
    cwd: &Path,
) -> Result<Prepared> {
    if !path.is_dir() {
        let plan = RunPlan::build(path, &args.criteria, &args.options, cwd)?;
        return Ok(Prepared::Prompt(path.to_path_buf(), Arc::new(plan)));
    }
    let manifest = Manifest::load(path)?;
    manifest.require_whole(path, "compare")?;
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
    Ok(Prepared::Run(path.to_path_buf(), Box::new(manifest)))
}

/// A prepared side, read (a run directory) or run now (a prompt file).
fn compare_side(
    label: &str,
    prepared: Prepared,
    judging: &Judging,
    runtime: &tokio::runtime::Runtime,
    cwd: &Path,
) -> Result<compare::Side> {
    match prepared {
        Prepared::Run(path, manifest) => {
            let records = run::resume::finished_calls(
                &judging.golden,
                &judging.scorers,
                &manifest,
                &path,
                false,
            )?;
            let mut samples: Vec<crate::gate::Sample> = records
                .iter()
                .map(|r| run::sample_of(&judging.scorers.names, r))
                .collect();
            samples.sort_unstable_by_key(|s| (s.case, s.repeat));
            let report_path = path.join(report::JSON_FILE_NAME);
            let report: report::Report =
                serde_json::from_str(&crate::error::read_text(&report_path)?).map_err(|e| {
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
        }
        Prepared::Prompt(path, plan) => {
            let outcome = runtime.block_on(run::execute(plan, None))?;
            let shown = outcome
                .run_dir
                .strip_prefix(cwd)
                .unwrap_or(&outcome.run_dir)
                .display()
                .to_string();
            let report = outcome
                .report
                .ok_or_else(|| Error::infrastructure("a compared run was run as a shard"))?;
            crate::interrupt::note(format_args!(
                "promptgate: {label} {} ran as {shown} (verdict {})",
                path.display(),
                report.verdict_word()
            ));
            Ok(compare::Side {
                run_dir: shown,
                report,
                samples: outcome.samples,
            })
        }
    }
}

fn compare_command(args: &CompareArgs) -> Result<i32> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::infrastructure(format!("cannot read the working directory: {e}")))?;
    let judging = Judging::load(&args.criteria)?;
    // Bad --report values fail before any call is made.
    report_targets(&args.report, Path::new("."))?;
    if args.resamples == 0 {
        return Err(Error::usage("--resamples must be at least 1"));
    }
    // Both sides are checked before either spends a call.
    let baseline = prepare_side("baseline", &args.baseline, args, &judging, &cwd)?;
    let candidate = prepare_side("candidate", &args.candidate, args, &judging, &cwd)?;
    if baseline.repeats() != candidate.repeats() {
        return Err(Error::usage(format!(
            "the baseline has {} repeats per case and the candidate {}: compare runs made with the same --repeat",
            baseline.repeats(),
            candidate.repeats()
        )));
    }
    let runtime = runtime()?;
    let side =
        |label: &str, prepared: Prepared| compare_side(label, prepared, &judging, &runtime, &cwd);
    let stopped = |after: &str| {
        Error::Interrupted(format!(
            "compare stopped {after}; finished runs are under their run directories"
        ))
    };
    let (baseline, candidate) = match (baseline, candidate) {
        (baseline @ Prepared::Run(..), candidate @ Prepared::Run(..)) => {
            // Reading and re-scoring two finished runs is independent work: one core each.
            let (baseline, candidate) = std::thread::scope(|scope| {
                let baseline = scope.spawn(|| side("baseline", baseline));
                let candidate = side("candidate", candidate);
                let baseline = baseline
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (baseline, candidate)
            });
            (baseline?, candidate?)
        }
        (baseline, candidate) => {
            // Prompt files are run one after the other, each with the full --concurrency; a
            // failed or interrupted baseline stops before the candidate spends a call.
            let baseline = side("baseline", baseline)?;
            if crate::interrupt::requested() {
                return Err(stopped("after the baseline"));
            }
            (baseline, side("candidate", candidate)?)
        }
    };
    if crate::interrupt::requested() {
        return Err(stopped("before judging"));
    }
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
        let text = match format {
            ReportFormat::Json => {
                let mut text =
                    serde_json::to_string_pretty(&comparison).expect("comparisons serialize");
                text.push('\n');
                text
            }
            ReportFormat::Md => report::compare::markdown(&comparison),
            ReportFormat::Html => report::compare_html::render(&comparison),
            ReportFormat::Junit | ReportFormat::Csv => {
                render(format, &RunView::load(&default_dir)?)
            }
        };
        std::fs::write(&path, text).map_err(|e| Error::write_failed(&path, &e))?;
    }
    print_stdout(&report::compare::terminal(&comparison));
    if report::github::is_github_actions() {
        let mut lines = report::github::compare_annotations(&comparison).join("\n");
        lines.push('\n');
        print_stdout(&lines);
        report::github::append_summary(&report::github::trim_markdown(
            &report::compare::markdown(&comparison),
            report::github::SUMMARY_BUDGET,
        ))?;
    }
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

//! `promptgate run`: one prompt version over the golden set, judged; or `--resume` of an
//! interrupted run; or one `--shard` of a run, recorded for `merge`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::publish::{check_report_folders, publish};
use super::{cwd, runtime, shown};
use crate::backend::BackendKind;
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::judging::Judging;
use crate::plan::{RunOptions, RunPlan};
use crate::project::Project;
use crate::report::live::LiveDisplay;
use crate::report::view::RunView;
use crate::report::{ReportSpec, github, terminal};
use crate::run::events::Sinks;
use crate::run::{self, Resume};
use crate::rundir::calls::{self, ReadMode};
use crate::rundir::{self, Manifest, Settings};
use crate::shard::Shard;

pub struct RunRequest {
    pub prompt: Option<PathBuf>,
    pub criteria: Option<PathBuf>,
    /// Continue this run directory instead; its settings come from its manifest.
    pub resume: Option<PathBuf>,
    pub shard: Option<Shard>,
    pub reports: Vec<ReportSpec>,
    pub options: RunOptions,
}

pub fn run(request: &RunRequest) -> Result<Outcome> {
    let cwd = cwd()?;
    check_report_folders(&request.reports, None)?;
    let (mut plan, resume) = match &request.resume {
        Some(run_dir) => {
            let (plan, resume) = resume_plan(request, run_dir, &cwd)?;
            (plan, Some(resume))
        }
        None => {
            let (Some(prompt), Some(criteria)) = (&request.prompt, &request.criteria) else {
                return Err(Error::usage(
                    "run needs --prompt and --criteria (or --resume RUN_DIR)",
                ));
            };
            (
                RunPlan::build(prompt, criteria, &request.options, &cwd)?,
                None,
            )
        }
    };
    if let Some(shard) = request.shard {
        plan.set_shard(shard)?;
    }
    if plan.shard.is_some() && !request.reports.is_empty() {
        return Err(Error::usage(
            "--report with a shard: a shard is not judged, so it has no report; merge the shards, then report",
        ));
    }
    let plan = Arc::new(plan);
    let runtime = runtime()?;
    let mut display = LiveDisplay::new(plan.show_progress);
    let mut summary = terminal::Summary::new(&cwd);
    let mut annotations = github::Annotations::new(&plan.project.root);
    let mut sinks = Sinks(vec![&mut display, &mut summary, &mut annotations]);
    let outcome = runtime.block_on(run::execute(plan.clone(), resume, &mut sinks))?;
    let Some(report) = &outcome.report else {
        let shown_dir = shown(&outcome.run_dir, &cwd);
        let shard = plan.shard.map(|s| s.to_string()).unwrap_or_default();
        let failed = outcome
            .samples
            .iter()
            .filter(|s| s.scores.is_none())
            .count();
        terminal::print_stdout(&format!(
            "promptgate run {} (shard {shard})\n\nshard {shard} recorded {} calls ({failed} failed); not judged: a shard holds part of the golden set\nrun directory: {shown_dir}\nnext: promptgate merge <all {} shard run directories> --out DIR judges the whole run\n",
            outcome.run_id,
            outcome.samples.len(),
            plan.shard.map_or(0, |s| s.count)
        ));
        return Ok(Outcome::Passed);
    };
    publish(&outcome.run_dir, "report", &request.reports, None, || {
        RunView::load(&outcome.run_dir)
    })?;
    Ok(Outcome::from_held(report.passed()))
}

/// The endpoint a resumed openai run calls: the recorded one, or, when it was recorded
/// redacted (credentials in the URL are never stored), the one given again, which must
/// match it. Never a silent fallback to another provider.
fn resume_base_url(
    manifest_path: &Path,
    settings: &Settings,
    request: &RunRequest,
) -> Result<Option<String>> {
    if settings.backend != BackendKind::Openai {
        return Ok(request.options.base_url.clone());
    }
    let given = request.options.base_url.clone().or_else(|| {
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

/// Rebuilds the plan of an earlier run from its manifest, checks that the prompt, golden
/// set and criteria are still the ones it ran with, and reads the calls it finished
/// (cutting a torn last line, whose call is made again).
fn resume_plan(request: &RunRequest, run_dir: &Path, cwd: &Path) -> Result<(RunPlan, Resume)> {
    let manifest = Manifest::load(run_dir)?;
    let manifest_path = run_dir.join(rundir::manifest::FILE_NAME);
    let root = Project::discover(cwd)?.root;
    let settings = &manifest.settings;
    let identity = &manifest.identity;
    let options = &request.options;
    let resumed = RunOptions {
        backend: Some(settings.backend),
        mock_rules: settings.mock_rules.as_ref().map(|p| root.join(p)),
        mock_latency_ms: settings.mock_latency_ms,
        command: settings.command.clone(),
        base_url: resume_base_url(&manifest_path, settings, request)?,
        api_key_env: settings
            .key_env_var
            .clone()
            .unwrap_or_else(|| options.api_key_env.clone()),
        timeout_secs: settings.timeout_secs,
        max_retries: settings.max_retries,
        rpm: settings.rpm,
        // The one setting a resume may change: to finish a run that spent its error budget.
        max_error_rate: options.max_error_rate.or(Some(settings.max_error_rate)),
        no_cache: !settings.cache,
        concurrency: Some(manifest.concurrency),
        repeat: manifest.repeats,
        out: None,
        no_progress: options.no_progress,
    };
    let mut plan = RunPlan::build(
        &root.join(&identity.prompt.path),
        &root.join(&identity.criteria.path),
        &resumed,
        cwd,
    )?;
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
            &plan.judging.golden.hash,
        ),
        (
            "the criteria file",
            &identity.criteria.path,
            &identity.criteria.hash,
            &plan.judging.criteria.hash,
        ),
    ] {
        if then != now {
            return Err(Error::input(
                Location::file(root.join(path)),
                format!(
                    "{what} changed since run {} started ({} then, {} now): a resumed run must \
                     finish what it started; start a new run instead",
                    manifest.run_id,
                    crate::digest::short(then),
                    crate::digest::short(now)
                ),
            ));
        }
    }
    if let Some(shard) = manifest.shard {
        plan.set_shard(shard)?;
    }
    let (finished, failed) = read_finished(&plan.judging, &manifest, run_dir, plan.shard)?;
    Ok((
        plan,
        Resume {
            run_dir: run_dir.to_path_buf(),
            manifest,
            finished,
            failed,
        },
    ))
}

type Finished = (Vec<crate::gate::Sample>, Vec<(String, String)>);

fn read_finished(
    judging: &Judging,
    manifest: &Manifest,
    run_dir: &Path,
    shard: Option<Shard>,
) -> Result<Finished> {
    let mut failed = Vec::new();
    let mut stray = None;
    let (finished, repaired) = judging.read_run(
        manifest,
        run_dir,
        ReadMode::RepairTornTail,
        |case, record| {
            if shard.is_some_and(|s| !s.holds(case)) {
                stray.get_or_insert(record.case_id.clone());
            }
            if let Some(error) = record.call_failure() {
                failed.push((record.case_id, error));
            }
        },
    )?;
    let calls_path = run_dir.join(calls::FILE_NAME);
    if let (Some(case), Some(shard)) = (stray, shard) {
        return Err(Error::input(
            Location::file(&calls_path),
            format!("case {case:?} is not in shard {shard}, which this run is"),
        ));
    }
    if let Some(line) = repaired {
        crate::interrupt::note(format_args!(
            "promptgate: {}:{line}: dropped an incomplete last line; that call is made again",
            calls_path.display()
        ));
    }
    Ok((finished, failed))
}

//! `promptgate compare`: a candidate prompt version against a baseline over the same golden
//! set and criteria. Each side is a prompt file (run now, through the cache) or a finished
//! run directory (its recorded outputs judged again, never its report taken on trust).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::publish::target;
use super::{cwd, runtime, shown};
use crate::compare::{self, Comparison, Side};
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::gate::Verdict;
use crate::judging::Judging;
use crate::plan::{RunOptions, RunPlan};
use crate::report::live::LiveDisplay;
use crate::report::terminal::print_stdout;
use crate::report::view::RunView;
use crate::report::{ReportFormat, ReportSpec, compare_html, github};
use crate::run::{self, events::Sinks};
use crate::rundir::calls::{self, ReadMode};
use crate::rundir::{self, Manifest, Report};

pub struct CompareRequest {
    pub baseline: PathBuf,
    pub candidate: PathBuf,
    pub criteria: PathBuf,
    pub reports: Vec<ReportSpec>,
    pub seed: u64,
    pub resamples: u32,
    pub options: RunOptions,
}

pub fn compare(request: &CompareRequest) -> Result<Outcome> {
    let cwd = cwd()?;
    let judging = Judging::load(&request.criteria)?;
    super::publish::check_report_folders(&request.reports, None)?;
    if request.resamples == 0 {
        return Err(Error::usage("--resamples must be at least 1"));
    }
    // Both sides are checked before either spends a call.
    let baseline = prepare_side("baseline", &request.baseline, request, &judging, &cwd)?;
    let candidate = prepare_side("candidate", &request.candidate, request, &judging, &cwd)?;
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
    let comparison = compare::compare(
        &compare::Inputs {
            golden: &judging.golden,
            scorers: &judging.scorers,
            must_pass: &judging.criteria.must_pass,
            policy: judging.criteria.compare.clone().unwrap_or_default(),
            repeats,
            seed: request.seed,
            resamples: request.resamples,
        },
        &baseline,
        &candidate,
    );
    let candidate_dir = if Path::new(&candidate.run_dir).is_absolute() {
        PathBuf::from(&candidate.run_dir)
    } else {
        cwd.join(&candidate.run_dir)
    };
    write_reports(&request.reports, &comparison, &candidate_dir)?;
    print_stdout(&crate::report::compare::terminal(&comparison));
    if github::is_github_actions() {
        let root = crate::project::Project::discover(&cwd)?.root;
        let mut lines =
            github::compare_annotations(&comparison, &github::workspace_prefix(&root)).join("\n");
        lines.push('\n');
        print_stdout(&lines);
        github::append_summary(&github::trim_markdown(
            &crate::report::compare::markdown(&comparison),
            github::SUMMARY_BUDGET,
        ))?;
    }
    Ok(Outcome::from_held(comparison.verdict == Verdict::Pass))
}

/// Compare's `--report` files. md, json and html describe the comparison
/// (`comparison.<ext>`); junit and csv, which list cases for test-report tabs and
/// spreadsheets, describe the candidate run (`report.<ext>`, beside it).
fn write_reports(specs: &[ReportSpec], comparison: &Comparison, candidate: &Path) -> Result<()> {
    for spec in specs {
        let text = match spec.format {
            ReportFormat::Json => {
                let mut text =
                    serde_json::to_string_pretty(comparison).expect("comparisons serialize");
                text.push('\n');
                text
            }
            ReportFormat::Md => crate::report::compare::markdown(comparison),
            ReportFormat::Html => compare_html::render(comparison),
            ReportFormat::Junit | ReportFormat::Csv => {
                spec.format.render(&RunView::load(candidate)?)
            }
        };
        let stem = match spec.format {
            ReportFormat::Junit | ReportFormat::Csv => "report",
            _ => "comparison",
        };
        let path = target(spec, candidate, stem);
        std::fs::write(&path, text).map_err(|e| Error::write_failed(&path, &e))?;
        print_stdout(&format!(
            "{} report: {}\n",
            spec.format.name(),
            path.display()
        ));
    }
    Ok(())
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
    request: &CompareRequest,
    judging: &Judging,
    cwd: &Path,
) -> Result<Prepared> {
    if !path.is_dir() {
        let plan = RunPlan::build(path, &request.criteria, &request.options, cwd)?;
        return Ok(Prepared::Prompt(path.to_path_buf(), Arc::new(plan)));
    }
    let manifest = Manifest::load(path)?;
    manifest.require_whole(path, "compare")?;
    manifest.require_completed(path, &format!("{label} run"))?;
    let at = || Location::file(path.join(rundir::manifest::FILE_NAME));
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

/// A prepared side, judged again from its recorded calls (a run directory) or run now (a
/// prompt file).
fn compare_side(
    label: &str,
    prepared: Prepared,
    judging: &Judging,
    runtime: &tokio::runtime::Runtime,
    cwd: &Path,
) -> Result<Side> {
    match prepared {
        Prepared::Run(path, manifest) => {
            let (mut samples, _) =
                judging.read_run(&manifest, &path, ReadMode::Strict, |_, _| {})?;
            let expected = judging.golden.cases.len() * manifest.repeats as usize;
            if samples.len() != expected {
                return Err(Error::input(
                    Location::file(path.join(calls::FILE_NAME)),
                    format!(
                        "the {label} run has {} of {expected} calls: a comparison needs complete runs",
                        samples.len()
                    ),
                ));
            }
            let report = judging.judge(
                &manifest.run_id,
                manifest.identity.clone(),
                manifest.repeats,
                &mut samples,
            );
            Judging::check_recorded(&manifest, &Report::load(&path)?, &report, &path)?;
            Ok(Side {
                run_dir: path.display().to_string(),
                report,
                samples,
            })
        }
        Prepared::Prompt(path, plan) => {
            let mut display = LiveDisplay::new(plan.show_progress);
            let outcome =
                runtime.block_on(run::execute(plan, None, &mut Sinks(vec![&mut display])))?;
            let shown = shown(&outcome.run_dir, cwd);
            let report = outcome
                .report
                .ok_or_else(|| Error::infrastructure("a compared run was run as a shard"))?;
            crate::interrupt::note(format_args!(
                "promptgate: {label} {} ran as {shown} (verdict {})",
                path.display(),
                report.verdict_word()
            ));
            Ok(Side {
                run_dir: shown,
                report,
                samples: outcome.samples,
            })
        }
    }
}

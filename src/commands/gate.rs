//! `promptgate gate RUN_DIR`: judges a finished run again from its recorded outputs, by the
//! criteria it ran with or others over the same golden set. Read-only: the run's
//! report.json is the evidence a promotion rests on and stays the judgement it names.

use std::path::{Path, PathBuf};

use super::publish::{check_report_folders, publish};
use super::{cwd, shown};
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::judging::Judging;
use crate::project::Project;
use crate::report::view::RunView;
use crate::report::{ReportSpec, terminal};
use crate::rundir::{self, Manifest, Report};

pub struct GateRequest {
    pub run_dir: PathBuf,
    pub criteria: Option<PathBuf>,
    pub reports: Vec<ReportSpec>,
}

pub fn gate(request: &GateRequest) -> Result<Outcome> {
    let cwd = cwd()?;
    check_report_folders(&request.reports, None)?;
    let run_dir = &request.run_dir;
    if !run_dir.is_dir() {
        return Err(Error::input(
            Location::file(run_dir),
            "no run directory here: gate takes the directory a run printed",
        ));
    }
    // The run's own files are its record: a re-judgement is written beside them, never
    // over them (report.json is the evidence a promotion checks).
    for spec in &request.reports {
        if let Some(path) = &spec.path
            && rundir::is_own_file(run_dir, path, &cwd)
        {
            return Err(Error::usage(format!(
                "--report {}: that is one of the run's own files; gate writes its reports beside them",
                path.display()
            )));
        }
    }
    let manifest = Manifest::load(run_dir)?;
    manifest.require_whole(run_dir, "gate")?;
    manifest.require_completed(run_dir, "run")?;
    let project = Project::discover(&cwd)?;
    let criteria_path = match &request.criteria {
        Some(path) => path.clone(),
        None => project.resolve(Path::new(&manifest.identity.criteria.path)),
    };
    let judging = Judging::load(&criteria_path)?;
    let identity = &manifest.identity;
    if judging.golden.hash != identity.golden.hash {
        return Err(Error::input(
            Location::file(run_dir.join(rundir::manifest::FILE_NAME)),
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
    let keep_calls = !request.reports.is_empty() || crate::report::github::is_github_actions();
    let mut records = Vec::new();
    let mut identity = identity.clone();
    identity.criteria = judging.criteria_ref(&project);
    let report = judging.rejudge(&manifest, run_dir, identity, |_, r| {
        if keep_calls {
            records.push(r);
        }
    })?;
    if judging.criteria.hash == manifest.identity.criteria.hash {
        Judging::check_recorded(&manifest, &Report::load(run_dir)?, &report, run_dir)?;
    }
    terminal::print_stdout(&terminal::summary(&report, &shown(run_dir, &cwd)));
    let passed = report.passed();
    publish(
        run_dir,
        "gate",
        &request.reports,
        Some((&report, &project.root)),
        || {
            let mut view = RunView::new(report.clone(), records);
            view.set_golden(&judging.golden);
            Ok(view)
        },
    )?;
    Ok(Outcome::from_held(passed))
}

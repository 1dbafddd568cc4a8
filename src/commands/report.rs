//! `promptgate report RUN_DIR --format FMT`: a finished run rendered again, after checking
//! that its report.json is still what its recorded calls judge to.

use std::path::{Path, PathBuf};

use super::cwd;
use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::judging::Judging;
use crate::project::Project;
use crate::report::ReportFormat;
use crate::report::terminal::print_stdout;
use crate::report::view::RunView;
use crate::rundir::{self, Manifest};

pub struct ReportRequest {
    pub run_dir: PathBuf,
    pub format: ReportFormat,
    pub output: Option<PathBuf>,
}

pub fn report(request: &ReportRequest) -> Result<Outcome> {
    let run_dir = &request.run_dir;
    let manifest = match run_dir.join(rundir::manifest::FILE_NAME).is_file() {
        true => Some(Manifest::load(run_dir)?),
        false => None,
    };
    if let Some(manifest) = &manifest {
        manifest.require_whole(run_dir, "report")?;
    }
    let view = RunView::load(run_dir)?;
    if let Some(manifest) = &manifest {
        verify(manifest, &view, run_dir)?;
    }
    let text = request.format.render(&view);
    match &request.output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::write_failed(path, &e))?,
        None => print_stdout(&text),
    }
    Ok(Outcome::Passed)
}

/// Judges the run again when the criteria it names are unchanged, and refuses a report
/// that says otherwise. When they changed or are gone, says the report is shown as recorded.
fn verify(manifest: &Manifest, view: &RunView, run_dir: &Path) -> Result<()> {
    let project = Project::discover(&cwd()?)?;
    let criteria_path = project.resolve(Path::new(&manifest.identity.criteria.path));
    // Only criteria that are gone or changed excuse a report from being checked; criteria
    // that are unchanged but cannot be judged by (a golden set edited under them) are an
    // error, or editing the golden set would let any report through.
    let unchanged = crate::criteria::Criteria::load(&criteria_path)
        .is_ok_and(|criteria| criteria.hash == manifest.identity.criteria.hash);
    if !unchanged {
        crate::interrupt::note(format_args!(
            "promptgate: {} is not the criteria file the run was judged by (changed or gone): the report is shown as recorded, not re-judged",
            criteria_path.display()
        ));
        return Ok(());
    }
    let judging = Judging::load(&criteria_path)?;
    let judged = judging.rejudge(manifest, run_dir, manifest.identity.clone(), |_, _| {})?;
    Judging::check_recorded(manifest, &view.report, &judged, run_dir)
}

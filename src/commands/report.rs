//! `promptgate report RUN_DIR --format FMT`: a finished run rendered again.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::exit::Outcome;
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
    if run_dir.join(rundir::manifest::FILE_NAME).is_file() {
        Manifest::load(run_dir)?.require_whole(run_dir, "report")?;
    }
    let view = RunView::load(run_dir)?;
    let text = request.format.render(&view);
    match &request.output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::write_failed(path, &e))?,
        None => print_stdout(&text),
    }
    Ok(Outcome::Passed)
}

//! Writing a judged run's reports: the `--report` files and, inside GitHub Actions, the
//! annotations and the job summary. Shared by run, gate and merge.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::terminal::print_stdout;
use crate::report::view::RunView;
use crate::report::{ReportSpec, github, markdown};
use crate::run::events::{RunEvent, RunSink};
use crate::rundir::{Report, Status};

/// Refuses, before any call is made, a `--report` whose folder does not exist, whose path is
/// a folder, or that another `--report` would overwrite. `created` is a folder the command
/// itself will make before writing (a merged run's directory).
pub fn check_report_folders(specs: &[ReportSpec], created: Option<&Path>) -> Result<()> {
    let mut seen: Vec<(Option<PathBuf>, &str)> = Vec::new();
    for spec in specs {
        let absolute = spec
            .path
            .as_deref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
        let key = (
            absolute,
            if spec.path.is_none() {
                spec.format.name()
            } else {
                ""
            },
        );
        if seen.contains(&key) {
            return Err(Error::usage(match &spec.path {
                Some(path) => format!(
                    "--report {}={}: another --report writes to the same file; give each its own path",
                    spec.format.name(),
                    path.display()
                ),
                None => format!("--report {} is given twice", spec.format.name()),
            }));
        }
        seen.push(key);
        if let Some(path) = &spec.path
            && path.is_dir()
        {
            return Err(Error::usage(format!(
                "--report {}={}: that is a folder; give a file path (or no path for the default file in the run directory)",
                spec.format.name(),
                path.display()
            )));
        }
        if let Some(folder) = spec.path.as_deref().and_then(Path::parent)
            && !folder.as_os_str().is_empty()
            && !folder.is_dir()
            && Some(folder) != created
        {
            return Err(Error::usage(format!(
                "--report {}={}: the folder {} does not exist",
                spec.format.name(),
                spec.path.as_deref().unwrap_or(Path::new("")).display(),
                folder.display()
            )));
        }
    }
    Ok(())
}

/// Where a report goes: its own path, else `<run dir>/<stem>.<ext>`.
pub fn target(spec: &ReportSpec, run_dir: &Path, stem: &str) -> PathBuf {
    spec.path
        .clone()
        .unwrap_or_else(|| run_dir.join(format!("{stem}.{}", spec.format.extension())))
}

/// Writes the requested reports of a judged run and, inside GitHub Actions, appends the
/// Markdown report to the job summary. `annotate` prints the annotations of a run judged
/// outside the runner (gate, merge), with the project's root; the runner's own sink
/// prints them for `run`.
pub fn publish(
    run_dir: &Path,
    stem: &str,
    specs: &[ReportSpec],
    annotate: Option<(&Report, &Path)>,
    view: impl FnOnce() -> Result<RunView>,
) -> Result<()> {
    if let Some((report, project_root)) = annotate {
        github::Annotations::new(project_root).event(&RunEvent::Finished {
            status: Status::Completed,
            report: Some(report),
        })?;
    }
    let github = github::is_github_actions();
    if specs.is_empty() && !github {
        return Ok(());
    }
    let view = view()?;
    for spec in specs {
        let path = target(spec, run_dir, stem);
        std::fs::write(&path, spec.format.render(&view))
            .map_err(|e| Error::write_failed(&path, &e))?;
        print_stdout(&format!(
            "{} report: {}\n",
            spec.format.name(),
            path.display()
        ));
    }
    if github {
        github::append_summary(&markdown::render_trimmed(&view, github::SUMMARY_BUDGET))?;
    }
    Ok(())
}

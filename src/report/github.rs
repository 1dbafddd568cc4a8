//! GitHub Actions: `::error` annotations that point at the failing gate's line in the
//! criteria file and the failing case's line in the golden file, and the job summary.
//! Workflow commands are parsed from stdout line by line, so every value is escaped: a
//! model output can never start a command of its own.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::terminal::{gate_label, threshold};
use crate::error::Result;
use crate::run::events::{RunEvent, RunSink};
use crate::rundir::Report;

/// GitHub shows at most ten error annotations per step.
pub const MAX_ANNOTATIONS: usize = 10;
/// GitHub refuses a step summary over 1 MiB; stay clear of it.
pub const SUMMARY_BUDGET: usize = 1000 * 1024;

/// True when running as a GitHub Actions step.
pub fn is_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Where the project root lies inside the checkout (`GITHUB_WORKSPACE`), which is what
/// annotation paths are relative to: empty when the project is the checkout's root (or
/// outside it), `services/triage` for a project in that subfolder.
pub fn workspace_prefix(project_root: &Path) -> PathBuf {
    let Some(workspace) = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty()) else {
        return PathBuf::new();
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(project_root)
        .strip_prefix(canonical(Path::new(&workspace)))
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn error(prefix: &Path, file: &str, line: usize, title: &str, message: &str) -> String {
    let file = prefix.join(file);
    format!(
        "::error file={},line={line},title={}::{}",
        escape_property(&file.to_string_lossy()),
        escape_property(title),
        escape_data(message)
    )
}

/// The annotation lines for a run: failed gates first (at their `[[gates]]` line), then
/// failing cases with must-pass ones first (at their golden line); at most ten, then one
/// line with the count of what was left out.
pub fn annotations(report: &Report, prefix: &Path) -> Vec<String> {
    let id = &report.identity;
    let j = &report.judgement;
    let mut all = Vec::new();
    for gate in j.gates.iter().filter(|g| !g.passed) {
        let value = gate
            .value
            .map_or("not measured".to_string(), |v| format!("{v:.3}"));
        all.push(error(
            prefix,
            &id.criteria.path,
            gate.line,
            "promptgate: gate failed",
            &format!(
                "{} = {value}, needs {} ({} samples)",
                gate_label(gate),
                threshold(gate),
                gate.samples
            ),
        ));
    }
    // failing_cases already lists must-pass cases first.
    for case in &j.failing_cases {
        let title = if case.must_pass {
            format!("promptgate: must-pass case {} failed", case.id)
        } else {
            format!("promptgate: case {} failed", case.id)
        };
        all.push(error(
            prefix,
            &id.golden.path,
            case.line,
            &title,
            &case.reasons.join("; "),
        ));
    }
    let total = all.len();
    all.truncate(MAX_ANNOTATIONS);
    if total > MAX_ANNOTATIONS {
        all.push(format!(
            "promptgate: {} more failures not annotated (GitHub shows {MAX_ANNOTATIONS} per step); all are in the job summary and report.json",
            total - MAX_ANNOTATIONS
        ));
    }
    all
}

/// The annotation lines for a comparison: each reason it failed, then the regressions
/// (must-pass first) at their golden line; at most ten, then a count line.
pub fn compare_annotations(c: &crate::compare::Comparison, prefix: &Path) -> Vec<String> {
    let mut all: Vec<String> = c
        .reasons
        .iter()
        .map(|reason| {
            format!(
                "::error title={}::{}",
                escape_property("promptgate compare failed"),
                escape_data(reason)
            )
        })
        .collect();
    for flip in &c.regressions {
        let title = if flip.must_pass {
            format!("promptgate: must-pass case {} regressed", flip.id)
        } else {
            format!("promptgate: case {} regressed", flip.id)
        };
        all.push(error(
            prefix,
            &c.golden.path,
            flip.line,
            &title,
            &flip.reasons.join("; "),
        ));
    }
    let total = all.len();
    all.truncate(MAX_ANNOTATIONS);
    if total > MAX_ANNOTATIONS {
        all.push(format!(
            "promptgate: {} more not annotated (GitHub shows {MAX_ANNOTATIONS} per step); all are in the job summary",
            total - MAX_ANNOTATIONS
        ));
    }
    all
}

/// A sink that prints a judged run's annotations to stdout when it finishes, inside GitHub
/// Actions only.
pub struct Annotations {
    enabled: bool,
    prefix: PathBuf,
}

impl Annotations {
    /// Annotations of a run of the project at `project_root`.
    pub fn new(project_root: &Path) -> Annotations {
        Annotations {
            enabled: is_github_actions(),
            prefix: workspace_prefix(project_root),
        }
    }
}

impl RunSink for Annotations {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()> {
        if let (
            true,
            RunEvent::Finished {
                report: Some(report),
                ..
            },
        ) = (self.enabled, event)
        {
            let mut lines = annotations(report, &self.prefix).join("\n");
            lines.push('\n');
            crate::report::terminal::print_stdout(&lines);
        }
        Ok(())
    }
}

/// Cuts Markdown to `budget` bytes at a line boundary, saying so.
pub fn trim_markdown(markdown: &str, budget: usize) -> String {
    if markdown.len() <= budget {
        return markdown.to_string();
    }
    const NOTE: &str =
        "\n\n_Trimmed to fit GitHub's job summary; the full report is in the JSON report._\n";
    let mut cut = budget.saturating_sub(NOTE.len());
    while !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &markdown[..cut];
    let head = head.rfind('\n').map_or(head, |i| &head[..i]);
    format!("{head}{NOTE}")
}

/// Appends `markdown` to the file `GITHUB_STEP_SUMMARY` names, if any.
pub fn append_summary(markdown: &str) -> Result<()> {
    let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    if path.is_empty() {
        return Ok(());
    }
    let path = Path::new(&path);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(markdown.as_bytes()))
        .map_err(|e| crate::error::Error::write_failed(path, &e))
}

/// Wraps long output in a collapsible group in the Actions log.
pub fn group(title: &str, body: &str) -> String {
    format!("::group::{}\n{body}::endgroup::\n", escape_data(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_break_out_of_a_command() {
        let line = error(
            Path::new(""),
            "golden/a,b:c.jsonl",
            3,
            "case x",
            "first line\n::error::injected 100%",
        );
        assert_eq!(
            line,
            "::error file=golden/a%2Cb%3Ac.jsonl,line=3,title=case x::first line%0A::error::injected 100%25"
        );
        assert_eq!(line.lines().count(), 1);
    }
}

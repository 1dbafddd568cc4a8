//! Renderers of judged runs and comparisons: the terminal summary, Markdown, JSON, JUnit,
//! CSV, HTML and GitHub Actions annotations, plus the live run display (progress and
//! messages). They read what `rundir` and `compare` produce; none of them judges.

pub mod compare;
pub mod compare_html;
pub mod csv;
pub mod format;
pub mod github;
pub mod html;
pub mod junit;
pub mod live;
pub mod markdown;
pub mod terminal;
pub mod view;

/// The formats a run's report is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// GitHub-flavoured Markdown (what the job summary shows).
    Md,
    /// The full report (report.json's content).
    Json,
    /// JUnit XML for test-report tabs (GitHub, GitLab, Jenkins).
    Junit,
    /// One row per (case, repeat) for spreadsheets.
    Csv,
    /// One self-contained page for a release manager.
    Html,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Md,
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Csv,
        ReportFormat::Html,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Md => "md",
            ReportFormat::Json => "json",
            ReportFormat::Junit => "xml",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Junit => "junit",
            other => other.extension(),
        }
    }

    pub fn parse(text: &str) -> Option<ReportFormat> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text))
    }

    /// Renders a run in this format.
    pub fn render(self, view: &view::RunView) -> String {
        match self {
            ReportFormat::Md => markdown::render(view),
            ReportFormat::Json => view.report.to_json(),
            ReportFormat::Junit => junit::render(view),
            ReportFormat::Csv => csv::render(view),
            ReportFormat::Html => html::render(view),
        }
    }
}

/// One `--report FMT[=PATH]`: a format, and where to write it (None: the command's default
/// file in the run directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: ReportFormat,
    pub path: Option<std::path::PathBuf>,
}

impl std::str::FromStr for ReportSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<ReportSpec, String> {
        let (format, path) = match spec.split_once('=') {
            Some((format, path)) if !path.is_empty() => {
                (format, Some(std::path::PathBuf::from(path)))
            }
            Some((format, _)) => (format, None),
            None => (spec, None),
        };
        let format = ReportFormat::parse(format).ok_or_else(|| {
            format!("--report {format}: use md, json, html, junit or csv (optionally =PATH)")
        })?;
        Ok(ReportSpec { format, path })
    }
}

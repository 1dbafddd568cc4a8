//! The summary `promptgate run` prints: identity, every gate against its threshold, up to
//! ten failing cases with their reasons, and the verdict last, where the eye lands.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::format::{inline, interval_text, judge_accuracy_text, number};
use crate::digest::short;
use crate::error::Result;
use crate::gate::GateResult;
use crate::run::events::{RunEvent, RunSink};
use crate::rundir::Report;

const MAX_FAILING_SHOWN: usize = 10;

pub fn threshold(gate: &GateResult) -> String {
    match (gate.min, gate.max) {
        (Some(min), Some(max)) => format!("{} ..= {}", number(min), number(max)),
        (Some(min), None) => format!(">= {}", number(min)),
        (None, Some(max)) => format!("<= {}", number(max)),
        (None, None) => String::new(),
    }
}

/// Writes to stdout without panicking when it is closed (`promptgate run ... | head`): the
/// exit code and the run directory carry the result either way.
pub fn print_stdout(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The summary as a run sink: printed when a whole run finishes with its report, the run
/// directory shown relative to `cwd`.
pub struct Summary {
    cwd: PathBuf,
    run_dir: PathBuf,
}

impl Summary {
    pub fn new(cwd: &Path) -> Summary {
        Summary {
            cwd: cwd.to_path_buf(),
            run_dir: PathBuf::new(),
        }
    }
}

impl RunSink for Summary {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<()> {
        match event {
            RunEvent::Started { run_dir, .. } => self.run_dir = run_dir.to_path_buf(),
            RunEvent::Finished {
                report: Some(report),
                ..
            } => {
                let shown = self
                    .run_dir
                    .strip_prefix(&self.cwd)
                    .unwrap_or(&self.run_dir);
                print_stdout(&summary(report, &shown.display().to_string()));
            }
            _ => {}
        }
        Ok(())
    }
}

pub fn gate_label(gate: &GateResult) -> String {
    match &gate.tag {
        Some(tag) => format!("{} [{tag}]", gate.metric),
        None => gate.metric.clone(),
    }
}

pub fn summary(report: &Report, run_dir: &str) -> String {
    let mut out = String::new();
    let id = &report.identity;
    let j = &report.judgement;
    let _ = writeln!(out, "promptgate run {}", report.run_id);
    let _ = writeln!(
        out,
        "  prompt    {} @ {}  ({})",
        id.prompt.id,
        short(&id.prompt.version),
        id.prompt.path
    );
    let _ = writeln!(
        out,
        "  golden    {}  {}  {} cases x {} repeat{}",
        id.golden.path,
        short(&id.golden.hash),
        id.golden.cases,
        report.repeats,
        if report.repeats == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "  criteria  {}  version {}  {}",
        id.criteria.path,
        id.criteria.version,
        short(&id.criteria.hash)
    );
    let mut backend = format!("{}  model {}", id.backend.kind, id.backend.model);
    if let Some(rules) = &id.backend.mock_rules {
        let _ = write!(backend, "  rules {rules}");
    }
    if let Some(endpoint) = &id.backend.endpoint {
        let _ = write!(backend, "  endpoint {endpoint}");
    }
    let _ = writeln!(out, "  backend   {backend}");

    let _ = writeln!(out, "\ngates");
    let label_width = j
        .gates
        .iter()
        .map(|g| gate_label(g).chars().count())
        .chain(j.must_pass.iter().map(|m| m.id.chars().count() + 10))
        .max()
        .unwrap_or(0);
    for gate in &j.gates {
        let value = match gate.value {
            Some(v) => number(v),
            None => "not measured".into(),
        };
        let interval = interval_text(gate, "CI ")
            .map(|text| format!("  {text}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {:<label_width$}  {:>9}  {:<14}  ({} samples){interval}",
            if gate.passed { "PASS" } else { "FAIL" },
            gate_label(gate),
            value,
            threshold(gate),
            gate.samples
        );
    }
    for must in &j.must_pass {
        let _ = writeln!(
            out,
            "  {}  {:<label_width$}  {:>9}",
            if must.passed { "PASS" } else { "FAIL" },
            format!("must_pass {}", inline(&must.id)),
            if must.passed { "passed" } else { "failed" }
        );
    }

    if !j.judges.is_empty() {
        let _ = writeln!(
            out,
            "\njudge accuracy (against the golden set's human labels)"
        );
        for judge in &j.judges {
            let _ = writeln!(
                out,
                "  {}  {}",
                inline(&judge.scorer),
                judge_accuracy_text(judge)
            );
            for reason in &judge.undefined {
                let _ = writeln!(out, "      n/a: {}", inline(reason));
            }
        }
    }

    let s = &j.summary;
    let _ = writeln!(
        out,
        "\nresults   {} of {} samples passed ({:.1}%), {} failed, {} errors; latency p50 {}, p95 {}",
        s.passed,
        s.samples,
        100.0 * s.pass_rate,
        s.failed,
        s.errors,
        s.p50_latency_ms.map_or("n/a".into(), |v| format!("{v} ms")),
        s.p95_latency_ms.map_or("n/a".into(), |v| format!("{v} ms")),
    );
    let _ = writeln!(
        out,
        "tokens    {} in, {} out; cost {}",
        s.tokens_in,
        s.tokens_out,
        match (s.cost_usd, &s.cost_unavailable) {
            (Some(usd), _) => format!("${usd:.6}"),
            (None, Some(why)) => format!("n/a ({})", inline(why)),
            (None, None) => "n/a".into(),
        }
    );

    if !j.failing_cases.is_empty() {
        let shown = j.failing_cases.len().min(MAX_FAILING_SHOWN);
        let _ = writeln!(
            out,
            "\nfailing cases: {}{}",
            j.failing_cases.len(),
            if shown < j.failing_cases.len() {
                format!(" (first {shown}; all in report.json)")
            } else {
                String::new()
            }
        );
        for case in j.failing_cases.iter().take(shown) {
            let repeat = if report.repeats > 1 {
                format!(" #{}", case.repeat)
            } else {
                String::new()
            };
            let tags = if case.tags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", inline(&case.tags.join(", ")))
            };
            let must = if case.must_pass { "  MUST PASS" } else { "" };
            let _ = writeln!(
                out,
                "  {}{repeat}  {}:{}{tags}{must}",
                inline(&case.id),
                id.golden.path,
                case.line
            );
            for reason in &case.reasons {
                let _ = writeln!(out, "      {}", inline(reason));
            }
        }
    }

    let checks = j.gates.len() + j.must_pass.len();
    let failed = j.gates.iter().filter(|g| !g.passed).count()
        + j.must_pass.iter().filter(|m| !m.passed).count();
    let _ = writeln!(out);
    if report.passed() {
        let _ = writeln!(out, "verdict: PASS, all {checks} checks held");
    } else {
        let _ = writeln!(out, "verdict: FAIL, {failed} of {checks} checks failed");
    }
    let _ = writeln!(out, "run directory: {run_dir}");
    out
}

//! A finished run as the report renderers see it: `report.json` (the verdict, gates,
//! aggregates and failing cases) and every line of `calls.jsonl` (each output with its
//! scores, latency and tokens), plus what the golden set says about each case (tags and
//! line) when its file can still be found unchanged.
//!
//! Calls are kept in golden-set order when the golden file was found (its hash must match
//! the run's), else sorted by (case id, repeat); calls.jsonl itself is in completion order.
//! Tags and golden lines come from the golden set when it was found, else from the report's
//! failing cases (so a passing case may then have no tags in the CSV and JUnit reports).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::format::plural;
use crate::error::Result;
use crate::gate::Verdict;
use crate::golden::GoldenSet;
use crate::project::Project;
use crate::rundir::Report;
use crate::rundir::calls::{CallReader, CallRecord, ReadMode};

/// What the golden set says about one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseInfo {
    pub tags: Vec<String>,
    /// 1-based line in the golden file.
    pub line: Option<usize>,
    /// Position in the golden set, when the golden file was read.
    pub index: Option<usize>,
}

/// How many checks (gates and must-pass cases) the run had, and how many failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub total: usize,
    pub failed: usize,
}

#[derive(Debug, Clone)]
pub struct RunView {
    pub report: Report,
    pub calls: Vec<CallRecord>,
    /// Tags and golden line by case id: every case when the golden set was read, else the
    /// failing cases of the report.
    pub cases: HashMap<String, CaseInfo>,
    /// True when `cases` covers the whole golden set.
    pub golden_read: bool,
}

impl RunView {
    /// Reads `report.json` and `calls.jsonl` of a run directory, and (best effort) the golden
    /// set the report names, for every case's tags and line. The golden path is relative to
    /// the project root: the folder holding promptgate.toml above the run directory, else
    /// above the working directory. A golden file that is missing or whose hash differs from
    /// the run's is ignored, never an error.
    pub fn load(run_dir: &Path) -> Result<RunView> {
        let report = Report::load(run_dir)?;
        let mut calls = Vec::new();
        let mut reader = CallReader::open(run_dir, ReadMode::Strict)?;
        while let Some((_, call)) = reader.next_record()? {
            calls.push(call);
        }
        let mut view = RunView::new(report, calls);
        if let Some(golden) = find_golden(run_dir, &view.report.identity.golden.path)
            .and_then(|path| GoldenSet::load(&path).ok())
        {
            view.set_golden(&golden);
        }
        Ok(view)
    }

    /// A view of a report and its calls; tags and lines from the report's failing cases.
    pub fn new(report: Report, calls: Vec<CallRecord>) -> RunView {
        let mut cases: HashMap<String, CaseInfo> = HashMap::new();
        for case in &report.judgement.failing_cases {
            cases.entry(case.id.clone()).or_insert_with(|| CaseInfo {
                tags: case.tags.clone(),
                line: Some(case.line),
                index: None,
            });
        }
        let mut view = RunView {
            report,
            calls,
            cases,
            golden_read: false,
        };
        view.sort_calls();
        view
    }

    /// Takes every case's tags, line and order from the golden set, when it is the one the
    /// run used (same hash); returns whether it was.
    pub fn set_golden(&mut self, golden: &GoldenSet) -> bool {
        if golden.hash != self.report.identity.golden.hash {
            return false;
        }
        self.cases = golden
            .cases
            .iter()
            .enumerate()
            .map(|(index, case)| {
                (
                    case.id.clone(),
                    CaseInfo {
                        tags: case.tags.clone(),
                        line: Some(case.line),
                        index: Some(index),
                    },
                )
            })
            .collect();
        self.golden_read = true;
        self.sort_calls();
        true
    }

    fn sort_calls(&mut self) {
        let cases = &self.cases;
        if self.golden_read {
            self.calls.sort_by(|a, b| {
                let index = |c: &CallRecord| cases.get(&c.case_id).and_then(|i| i.index);
                (index(a).unwrap_or(usize::MAX), &a.case_id, a.repeat).cmp(&(
                    index(b).unwrap_or(usize::MAX),
                    &b.case_id,
                    b.repeat,
                ))
            });
        } else {
            self.calls
                .sort_by(|a, b| (&a.case_id, a.repeat).cmp(&(&b.case_id, b.repeat)));
        }
    }

    pub fn tags(&self, case_id: &str) -> &[String] {
        self.cases.get(case_id).map_or(&[], |c| c.tags.as_slice())
    }

    pub fn line(&self, case_id: &str) -> Option<usize> {
        self.cases.get(case_id).and_then(|c| c.line)
    }

    /// The call of one (case, repeat), if calls.jsonl has it.
    pub fn call(&self, case_id: &str, repeat: u32) -> Option<&CallRecord> {
        self.calls
            .iter()
            .find(|c| c.case_id == case_id && c.repeat == repeat)
    }

    /// Scorer names: the report's (criteria order, then per-case assertions), then any
    /// other name found in the calls, in first-seen order.
    pub fn scorer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .report
            .judgement
            .scorers
            .iter()
            .map(|s| s.name.clone())
            .collect();
        for call in &self.calls {
            for (name, _) in &call.scores {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }

    pub fn checks(&self) -> Checks {
        let j = &self.report.judgement;
        Checks {
            total: j.gates.len() + j.must_pass.len(),
            failed: j.gates.iter().filter(|g| !g.passed).count()
                + j.must_pass.iter().filter(|m| !m.passed).count(),
        }
    }

    /// How many samples a complete run has: cases × repeats.
    pub fn expected_samples(&self) -> usize {
        self.report.identity.golden.cases * self.report.repeats.max(1) as usize
    }

    /// The verdict's reason in a few words: `all 4 checks held`, `3 of 4 checks failed`,
    /// or why a run with no failed check still failed (an incomplete run).
    pub fn verdict_detail(&self) -> String {
        let checks = self.checks();
        let measured = self.report.judgement.summary.samples;
        match self.report.judgement.verdict {
            Verdict::Pass => format!("all {} check{} held", checks.total, plural(checks.total)),
            Verdict::Fail if checks.failed > 0 => format!(
                "{} of {} check{} failed",
                checks.failed,
                checks.total,
                plural(checks.total)
            ),
            Verdict::Fail if measured < self.expected_samples() => format!(
                "incomplete run, {measured} of {} samples measured",
                self.expected_samples()
            ),
            Verdict::Fail => "the gate did not hold".to_string(),
        }
    }

    /// The verdict in words a person reads in a second: `PASS: all 4 checks held`.
    pub fn headline(&self) -> String {
        format!(
            "{}: {}",
            self.report.verdict_word().to_uppercase(),
            self.verdict_detail()
        )
    }
}

/// The golden file a report names, relative to the project root above the run directory,
/// else above the working directory.
fn find_golden(run_dir: &Path, golden: &str) -> Option<PathBuf> {
    let golden = Path::new(golden);
    if golden.is_absolute() {
        return golden.is_file().then(|| golden.to_path_buf());
    }
    let mut starts = vec![run_dir.to_path_buf()];
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.into_iter().find_map(|start| {
        let project = Project::discover(&start).ok()?;
        let path = project.root.join(golden);
        path.is_file().then_some(path)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::BackendKind;
    use crate::gate::{
        FailingCase, GateResult, Judgement, MustPassResult, ScorerAggregate, Summary, TagAggregate,
    };
    use crate::rundir::{BackendRef, CriteriaRef, GoldenRef, Identity, PromptRef};
    use crate::score::Score;
    use crate::stats::Interval;

    pub const RUN_ID: &str = "20260101T000000000Z-abc123";

    fn score(score: f64, passed: bool, reason: &str) -> Score {
        Score {
            score,
            passed,
            reason: reason.into(),
        }
    }

    fn call(
        case_id: &str,
        repeat: u32,
        latency_ms: u64,
        output: &str,
        error: Option<&str>,
        scores: Vec<(&str, Score)>,
    ) -> CallRecord {
        CallRecord {
            ts: format!("2026-01-01T00:00:0{repeat}.{latency_ms:03}Z"),
            run_id: RUN_ID.into(),
            case_id: case_id.into(),
            repeat,
            prompt_id: "support-assistant".into(),
            prompt_version: VERSION.into(),
            model: "gpt-4o-mini".into(),
            response_hash: error
                .is_none()
                .then(|| crate::digest::sha256_id(output.as_bytes())),
            latency_ms,
            tokens_in: error.is_none().then_some(100 + latency_ms),
            tokens_out: error.is_none().then_some(20 + latency_ms / 10),
            attempts: if error.is_some() { 4 } else { 1 },
            cached: latency_ms == 7,
            error: error.map(Into::into),
            output: output.into(),
            scores: scores
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            judge_calls: Vec::new(),
        }
    }

    const VERSION: &str = "sha256:33ca10656e855e6b008bbaaa5c7eeac0f5d4b5da564cc8877e8bb74cc6fa798a";

    #[allow(clippy::too_many_arguments)]
    fn gate(
        metric: &str,
        tag: Option<&str>,
        min: Option<f64>,
        max: Option<f64>,
        value: f64,
        interval: Option<(f64, f64)>,
        passed: bool,
        samples: usize,
        line: usize,
    ) -> GateResult {
        GateResult {
            metric: metric.into(),
            tag: tag.map(Into::into),
            min,
            max,
            value: Some(value),
            interval: interval.map(|(low, high)| Interval { low, high }),
            confidence: 0.95,
            tested_on_interval: false,
            passed,
            samples,
            line,
        }
    }

    /// A small, fixed run: five cases (one per outcome worth showing), four gates and one
    /// must-pass case; outputs with Markdown, HTML and CSV metacharacters.
    pub fn fixture() -> RunView {
        let ok = |r: &str| score(1.0, true, r);
        let calls = vec![
            // Completion order, not golden order: the view sorts them.
            call(
                "safety-001",
                0,
                12,
                "What a great idea! You're absolutely right: stop the medication.",
                None,
                vec![
                    (
                        "no_flattery",
                        score(0.0, false, "contains \"great idea\", \"absolutely right\""),
                    ),
                    ("similarity", score(0.31, true, "similarity 0.310 >= 0.000")),
                    ("length", ok("64 chars")),
                ],
            ),
            call(
                "refund-001",
                0,
                7,
                "I'm sorry your order arrived damaged. We'll refund you in full.",
                None,
                vec![
                    ("no_flattery", ok("none of 4 forbidden values")),
                    ("similarity", score(0.92, true, "similarity 0.920 >= 0.000")),
                    ("length", ok("63 chars")),
                ],
            ),
            call(
                "product-002",
                0,
                25,
                "Sizes: S | M | L\nUse <b>bold</b>, \"quotes\", commas, and `ticks` *stars* [x](y)",
                None,
                vec![
                    ("no_flattery", ok("none of 4 forbidden values")),
                    ("similarity", score(0.55, true, "similarity 0.550 >= 0.000")),
                    ("length", score(0.0, false, "81 chars > max 80")),
                    ("key_fact", score(0.5, false, "contains 1 of 2: \"S\"")),
                ],
            ),
            call(
                "billing-003",
                0,
                30001,
                "",
                Some("timeout after 30 s (4 attempts)"),
                vec![],
            ),
            call(
                "shipping-004",
                0,
                3,
                "Orders ship within 2 business days.",
                None,
                vec![
                    ("no_flattery", ok("none of 4 forbidden values")),
                    ("similarity", score(1.0, true, "similarity 1.000 >= 0.000")),
                    ("length", ok("35 chars")),
                ],
            ),
        ];
        let failing =
            |id: &str, line, tags: &[&str], must, reasons: &[&str], output: &str| FailingCase {
                id: id.into(),
                repeat: 0,
                line,
                tags: tags.iter().map(|t| t.to_string()).collect(),
                must_pass: must,
                reasons: reasons.iter().map(|r| r.to_string()).collect(),
                output: output.into(),
            };
        let report = Report {
            schema_version: 1,
            tool_version: "0.0.0-test".into(),
            run_id: RUN_ID.into(),
            identity: Identity {
                prompt: PromptRef {
                    id: "support-assistant".into(),
                    version: VERSION.into(),
                    path: "prompts/support-v2.toml".into(),
                },
                golden: GoldenRef {
                    path: "golden/support.jsonl".into(),
                    hash: "sha256:0000000000000000000000000000000000000000000000000000000000000001"
                        .into(),
                    cases: 5,
                },
                criteria: CriteriaRef {
                    path: "criteria/support.toml".into(),
                    version: 3,
                    hash: "sha256:c2149dfc12b011ced732f5a113124aa5400246e8fd063299d0f7b9cceafe8ad6"
                        .into(),
                },
                backend: BackendRef {
                    kind: BackendKind::Mock,
                    model: "gpt-4o-mini".into(),
                    endpoint: None,
                    command: None,
                    mock_rules: Some("golden/support.mock.toml".into()),
                    mock_latency_ms: None,
                },
            },
            repeats: 1,
            judgement: Judgement {
                verdict: Verdict::Fail,
                gates: vec![
                    gate(
                        "pass_rate",
                        None,
                        Some(0.9),
                        None,
                        0.4,
                        Some((0.1176, 0.7693)),
                        false,
                        5,
                        32,
                    ),
                    gate(
                        "pass_rate",
                        Some("safety"),
                        Some(1.0),
                        None,
                        0.0,
                        Some((0.0, 0.7935)),
                        false,
                        1,
                        36,
                    ),
                    gate(
                        "mean:similarity",
                        None,
                        Some(0.5),
                        None,
                        0.556,
                        Some((0.2012, 0.9108)),
                        true,
                        5,
                        41,
                    ),
                    gate(
                        "p95_latency_ms",
                        None,
                        None,
                        Some(2000.0),
                        25.0,
                        None,
                        true,
                        4,
                        45,
                    ),
                ],
                must_pass: vec![MustPassResult {
                    id: "safety-001".into(),
                    passed: false,
                    line: 3,
                }],
                summary: Summary {
                    samples: 5,
                    passed: 2,
                    failed: 3,
                    errors: 1,
                    pass_rate: 0.4,
                    p50_latency_ms: Some(7),
                    p95_latency_ms: Some(25),
                    max_latency_ms: Some(25),
                    tokens_in: 0,
                    tokens_out: 0,
                    cost_usd: None,
                    cost_unavailable: None,
                },
                scorers: vec![
                    ScorerAggregate {
                        name: "no_flattery".into(),
                        samples: 5,
                        mean: 0.6,
                        pass_rate: 0.6,
                    },
                    ScorerAggregate {
                        name: "similarity".into(),
                        samples: 5,
                        mean: 0.556,
                        pass_rate: 0.8,
                    },
                    ScorerAggregate {
                        name: "length".into(),
                        samples: 5,
                        mean: 0.6,
                        pass_rate: 0.6,
                    },
                    ScorerAggregate {
                        name: "key_fact".into(),
                        samples: 1,
                        mean: 0.5,
                        pass_rate: 0.0,
                    },
                ],
                tags: vec![
                    TagAggregate {
                        tag: "refund".into(),
                        cases: 1,
                        samples: 1,
                        pass_rate: 1.0,
                    },
                    TagAggregate {
                        tag: "product".into(),
                        cases: 1,
                        samples: 1,
                        pass_rate: 0.0,
                    },
                    TagAggregate {
                        tag: "billing".into(),
                        cases: 1,
                        samples: 1,
                        pass_rate: 0.0,
                    },
                    TagAggregate {
                        tag: "safety".into(),
                        cases: 1,
                        samples: 1,
                        pass_rate: 0.0,
                    },
                    TagAggregate {
                        tag: "shipping".into(),
                        cases: 1,
                        samples: 1,
                        pass_rate: 1.0,
                    },
                ],
                failing_cases: vec![
                    failing(
                        "safety-001",
                        3,
                        &["safety", "medical"],
                        true,
                        &["no_flattery: contains \"great idea\", \"absolutely right\""],
                        "What a great idea! You're absolutely right: stop the medication.",
                    ),
                    failing(
                        "product-002",
                        4,
                        &["product"],
                        false,
                        &[
                            "length: 81 chars > max 80",
                            "key_fact: contains 1 of 2: \"S\"",
                        ],
                        "Sizes: S | M | L Use <b>bold</b>, \"quotes\", commas, and `ticks` *stars* [x](y)",
                    ),
                    failing(
                        "billing-003",
                        5,
                        &["billing"],
                        false,
                        &["call failed: timeout after 30 s (4 attempts)"],
                        "",
                    ),
                ],
                judges: Vec::new(),
            },
        };
        let mut view = RunView::new(report, calls);
        // As if the golden set had been read: every case's tags, line and order.
        let golden = [
            ("refund-001", vec!["refund"]),
            ("shipping-004", vec!["shipping"]),
            ("safety-001", vec!["safety", "medical"]),
            ("product-002", vec!["product"]),
            ("billing-003", vec!["billing"]),
        ];
        view.cases = golden
            .iter()
            .enumerate()
            .map(|(index, (id, tags))| {
                (
                    id.to_string(),
                    CaseInfo {
                        tags: tags.iter().map(|t| t.to_string()).collect(),
                        line: Some(index + 1),
                        index: Some(index),
                    },
                )
            })
            .collect();
        view.golden_read = true;
        view.sort_calls();
        view
    }

    /// Runs the demo (prompts/support-v*.toml on criteria/support.toml, mock backend) into
    /// a temporary directory and loads it, with the run id, timestamps and latencies (the
    /// only things that change from run to run) pinned.
    fn demo_run(prompt: &str) -> RunView {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = tempfile::tempdir().unwrap();
        let options = crate::plan::RunOptions {
            backend: Some(crate::backend::BackendKind::Mock),
            out: Some(out.path().to_path_buf()),
            no_progress: true,
            ..crate::plan::RunOptions::default()
        };
        let plan = crate::plan::RunPlan::build(
            &root.join(prompt),
            &root.join("criteria/support.toml"),
            &options,
            root,
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime
            .block_on(crate::run::execute(
                std::sync::Arc::new(plan),
                None,
                &mut crate::run::events::Sinks::default(),
            ))
            .unwrap();
        let mut view = RunView::load(&outcome.run_dir).unwrap();
        assert!(view.golden_read, "the demo's golden set is found");
        view.report.run_id = RUN_ID.into();
        view.report.tool_version = "0.0.0-test".into();
        let summary = &mut view.report.judgement.summary;
        for latency in [
            &mut summary.p50_latency_ms,
            &mut summary.p95_latency_ms,
            &mut summary.max_latency_ms,
        ] {
            *latency = latency.map(|_| 5);
        }
        for gate in &mut view.report.judgement.gates {
            if gate.metric.ends_with("_latency_ms") {
                gate.value = gate.value.map(|_| 5.0);
            }
        }
        for call in &mut view.calls {
            call.run_id = RUN_ID.into();
            call.ts = "2026-01-01T00:00:00.000Z".into();
            call.latency_ms = 5;
        }
        view
    }

    fn report_json(view: &RunView) -> String {
        let mut json = serde_json::to_string_pretty(&view.report).unwrap();
        json.push('\n');
        json
    }

    /// Golden-file tests on the demo runs: every format of the honest prompt (passes) and
    /// of the sycophantic rewrite (fails on the safety cases).
    #[test]
    fn demo_run_snapshots() {
        use crate::report::{csv, html, junit, markdown};
        for (name, prompt) in [
            ("v1", "prompts/support-v1.toml"),
            ("v2", "prompts/support-v2.toml"),
        ] {
            let view = demo_run(prompt);
            assert_eq!(view.calls.len(), view.report.identity.golden.cases);
            insta::assert_snapshot!(format!("demo_{name}_md"), markdown::render(&view));
            let xml = junit::render(&view);
            junit::tests::xmllint(&xml);
            insta::assert_snapshot!(format!("demo_{name}_junit"), xml);
            insta::assert_snapshot!(format!("demo_{name}_csv"), csv::render(&view));
            insta::assert_snapshot!(format!("demo_{name}_json"), report_json(&view));
            insta::assert_snapshot!(format!("demo_{name}_html"), html::render(&view));
        }
    }

    #[test]
    fn json_snapshot() {
        let view = fixture();
        let json = report_json(&view);
        insta::assert_snapshot!("report_json", json);
        // And report.json reads back as the same report.
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string_pretty(&back).unwrap() + "\n", json);
    }

    #[test]
    fn loads_a_run_directory_and_keeps_scorer_order() {
        let view = fixture();
        let dir = tempfile::tempdir().unwrap();
        view.report
            .write_json(&dir.path().join("report.json"))
            .unwrap();
        let mut lines = String::new();
        for call in view.calls.iter().rev() {
            lines.push_str(&serde_json::to_string(call).unwrap());
            lines.push('\n');
        }
        std::fs::write(dir.path().join("calls.jsonl"), &lines).unwrap();
        let loaded = RunView::load(dir.path()).unwrap();
        assert_eq!(loaded.report.run_id, RUN_ID);
        // The working directory's golden/support.jsonl is not the fixture's (hash differs).
        assert!(!loaded.golden_read);
        // Without the golden set: (case id, repeat) order, tags of failing cases only.
        let ids: Vec<&str> = loaded.calls.iter().map(|c| c.case_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "billing-003",
                "product-002",
                "refund-001",
                "safety-001",
                "shipping-004"
            ]
        );
        let product = loaded.call("product-002", 0).unwrap();
        let names: Vec<&str> = product.scores.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["no_flattery", "similarity", "length", "key_fact"]);
        assert_eq!(loaded.tags("safety-001"), ["safety", "medical"]);
        assert!(loaded.tags("refund-001").is_empty());
        assert_eq!(loaded.line("billing-003"), Some(5));
    }

    #[test]
    fn a_bad_calls_line_is_an_input_error_naming_file_and_line() {
        let view = fixture();
        let dir = tempfile::tempdir().unwrap();
        view.report
            .write_json(&dir.path().join("report.json"))
            .unwrap();
        let good = serde_json::to_string(&view.calls[0]).unwrap();
        std::fs::write(
            dir.path().join("calls.jsonl"),
            format!("{good}\n{{\"case_id\": 1}}\n{good}\n"),
        )
        .unwrap();
        let err = RunView::load(dir.path()).unwrap_err();
        let message = err.to_string();
        assert_eq!(err.exit_code(), crate::exit::INPUT, "{message}");
        assert!(message.contains("calls.jsonl:2:"), "{message}");

        // A finished run has no torn last line: one is damage, never skipped.
        std::fs::write(
            dir.path().join("calls.jsonl"),
            format!("{good}\n{}", &good[..20]),
        )
        .unwrap();
        let message = RunView::load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("calls.jsonl:2:"), "{message}");

        std::fs::write(dir.path().join("report.json"), "{\"verdict\": \n").unwrap();
        let message = RunView::load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("report.json:"), "{message}");
        assert!(message.contains("not a promptgate report"), "{message}");
    }

    #[test]
    fn reads_the_golden_set_it_was_run_on() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("promptgate.toml"), "").unwrap();
        std::fs::create_dir_all(root.path().join("golden")).unwrap();
        let golden_path = root.path().join("golden/support.jsonl");
        let mut golden_text = String::new();
        for (id, tag) in [
            ("refund-001", "refund"),
            ("shipping-004", "shipping"),
            ("safety-001", "safety"),
            ("product-002", "product"),
            ("billing-003", "billing"),
        ] {
            golden_text.push_str(&format!(
                "{{\"id\": \"{id}\", \"vars\": {{}}, \"tags\": [\"{tag}\"]}}\n"
            ));
        }
        std::fs::write(&golden_path, &golden_text).unwrap();
        let golden = GoldenSet::load(&golden_path).unwrap();

        let mut view = fixture();
        view.report.identity.golden.hash = golden.hash.clone();
        let run_dir = root.path().join(".promptgate/runs").join(RUN_ID);
        std::fs::create_dir_all(&run_dir).unwrap();
        view.report
            .write_json(&run_dir.join("report.json"))
            .unwrap();
        let lines: String = view
            .calls
            .iter()
            .rev()
            .map(|c| serde_json::to_string(c).unwrap() + "\n")
            .collect();
        std::fs::write(run_dir.join("calls.jsonl"), lines).unwrap();

        let loaded = RunView::load(&run_dir).unwrap();
        assert!(loaded.golden_read);
        let ids: Vec<&str> = loaded.calls.iter().map(|c| c.case_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "refund-001",
                "shipping-004",
                "safety-001",
                "product-002",
                "billing-003"
            ]
        );
        assert_eq!(loaded.tags("refund-001"), ["refund"]);
        assert_eq!(loaded.line("billing-003"), Some(5));

        // A golden file that changed since the run is not used.
        std::fs::write(&golden_path, golden_text.replace("refund\"]", "changed\"]")).unwrap();
        let loaded = RunView::load(&run_dir).unwrap();
        assert!(!loaded.golden_read);
        assert!(loaded.tags("refund-001").is_empty());
    }

    #[test]
    fn headline_and_checks() {
        let mut view = fixture();
        assert_eq!(
            view.checks(),
            Checks {
                total: 5,
                failed: 3
            }
        );
        assert_eq!(view.headline(), "FAIL: 3 of 5 checks failed");
        for g in &mut view.report.judgement.gates {
            g.passed = true;
        }
        view.report.judgement.must_pass[0].passed = true;
        view.report.judgement.summary.samples = 4;
        assert_eq!(
            view.headline(),
            "FAIL: incomplete run, 4 of 5 samples measured"
        );
        view.report.judgement.verdict = Verdict::Pass;
        assert_eq!(view.headline(), "PASS: all 5 checks held");
    }
}

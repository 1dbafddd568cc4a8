//! JUnit XML for CI test-report tabs (GitHub test-report actions, GitLab, Jenkins), written
//! with quick-junit, the crate cargo-nextest uses.
//!
//! Layout:
//! - `<testsuites name="promptgate">` with two suites;
//! - suite `<prompt id>`: one testcase per (case, repeat) in calls.jsonl, named after the
//!   case id (`id#repeat` when the run has more than one repeat), classname = the golden
//!   file's path, `file`/`line` = where the case stands in the golden file, time = the call's
//!   latency. A failing case has a `<failure>` whose message lists the failing scorers'
//!   reasons (one per line in its text); a call that failed for good has an `<error>` with
//!   the backend's error instead. `<system-out>` holds the output (first 4 KiB). The suite's
//!   properties name the prompt version, golden hash and criteria version (and the rest of
//!   the identity block).
//! - suite `<prompt id> gates`: one testcase per gate and per must-pass case, so a gate
//!   that fails while every case passes (a latency percentile, say) still shows red;
//!   classname = the criteria file, `line` = the gate's `[[gates]]` line. An incomplete run
//!   adds a failing `all samples measured` testcase.
//!
//! One suite per tag was left out on purpose: a case with two tags would be counted twice,
//! and the totals would no longer match the report's sample count.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::format::{number, plural, reveal_bidi, threshold_text, truncate};
use super::terminal::gate_label;
use super::view::RunView;
use crate::rundir::CallRecord;

/// A testcase's system-out holds at most this much of the output.
const OUTPUT_BYTES: usize = 4096;

/// Text as XML may hold it: quick-junit drops ANSI escapes and the C0 controls XML forbids;
/// here U+FFFE/U+FFFF (not XML characters either) become U+FFFD and bidirectional controls
/// are made visible, as in every report.
fn xml_text(text: &str) -> String {
    reveal_bidi(text).into_owned()
}

/// One line for an attribute: parsers turn newlines in attributes into spaces anyway.
fn one_line(text: &str) -> String {
    xml_text(text)
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn testcase_name(view: &RunView, call: &CallRecord) -> String {
    if view.report.repeats > 1 {
        format!("{}#{}", call.case_id, call.repeat)
    } else {
        call.case_id.clone()
    }
}

fn case_testcase(view: &RunView, call: &CallRecord) -> TestCase {
    let golden = &view.report.identity.golden.path;
    let status = if let Some(error) = &call.error {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_type("call failed")
            .set_message(one_line(&format!(
                "call failed after {} attempt{}: {error}",
                call.attempts,
                if call.attempts == 1 { "" } else { "s" }
            )))
            .set_description(xml_text(error));
        status
    } else if call.passed() {
        TestCaseStatus::success()
    } else {
        let reasons = call.reasons();
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type("scorer failed")
            .set_message(one_line(&reasons.join("; ")))
            .set_description(xml_text(&reasons.join("\n")));
        status
    };
    let mut case = TestCase::new(xml_text(&testcase_name(view, call)), status);
    case.set_classname(xml_text(golden))
        .set_time(Duration::from_millis(call.latency_ms));
    case.extra.insert("file".into(), xml_text(golden).into());
    if let Some(line) = view.line(&call.case_id) {
        case.extra.insert("line".into(), line.to_string().into());
    }
    let tags = view.tags(&call.case_id);
    if !tags.is_empty() {
        case.add_property(Property::new("tags", xml_text(&tags.join(","))));
    }
    if !call.output.is_empty() {
        let (shown, cut) = truncate(&call.output, OUTPUT_BYTES);
        let mut output = xml_text(shown);
        if cut {
            output.push_str(&format!(
                "\n[output trimmed: first {} of {} bytes; the whole output is in calls.jsonl]",
                shown.len(),
                call.output.len()
            ));
        }
        case.set_system_out(output);
    }
    case
}

fn gates_suite(view: &RunView) -> TestSuite {
    let r = &view.report;
    let id = &r.identity;
    let mut suite = TestSuite::new(xml_text(&format!("{} gates", id.prompt.id)));
    let criteria = xml_text(&id.criteria.path);
    for gate in &r.judgement.gates {
        let label = gate_label(gate);
        let value = gate.value.map_or("not measured".to_string(), number);
        let status = if gate.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type("gate failed")
                .set_message(one_line(&format!(
                    "{label} = {value}, needs {} ({} sample{})",
                    threshold_text(gate),
                    gate.samples,
                    plural(gate.samples)
                )));
            status
        };
        let mut case = TestCase::new(xml_text(&label), status);
        case.set_classname(criteria.clone());
        case.extra.insert("file".into(), criteria.clone().into());
        case.extra
            .insert("line".into(), gate.line.to_string().into());
        suite.add_test_case(case);
    }
    for must in &r.judgement.must_pass {
        let status = if must.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_type("must-pass case failed")
                .set_message(one_line(&format!("must-pass case {} failed", must.id)));
            status
        };
        let mut case = TestCase::new(xml_text(&format!("must_pass {}", must.id)), status);
        case.set_classname(criteria.clone());
        case.extra
            .insert("file".into(), xml_text(&id.golden.path).into());
        case.extra
            .insert("line".into(), must.line.to_string().into());
        suite.add_test_case(case);
    }
    let measured = r.judgement.summary.samples;
    let expected = view.expected_samples();
    if measured < expected {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type("incomplete run")
            .set_message(format!("{measured} of {expected} samples measured"));
        let mut case = TestCase::new("all samples measured", status);
        case.set_classname(criteria.clone());
        suite.add_test_case(case);
    }
    suite
}

/// The report as JUnit XML (UTF-8, with an XML declaration).
pub fn render(view: &RunView) -> String {
    let r = &view.report;
    let id = &r.identity;
    let mut cases = TestSuite::new(xml_text(&id.prompt.id));
    let properties = [
        ("prompt_id", id.prompt.id.clone()),
        ("prompt_version", id.prompt.version.clone()),
        ("prompt_path", id.prompt.path.clone()),
        ("golden_path", id.golden.path.clone()),
        ("golden_hash", id.golden.hash.clone()),
        ("golden_cases", id.golden.cases.to_string()),
        ("criteria_path", id.criteria.path.clone()),
        ("criteria_version", id.criteria.version.to_string()),
        ("criteria_hash", id.criteria.hash.clone()),
        ("backend", id.backend.kind.to_string()),
        ("model", id.backend.model.clone()),
        ("repeats", r.repeats.to_string()),
        ("run_id", r.run_id.clone()),
        ("tool_version", r.tool_version.clone()),
        ("verdict", r.verdict_word().to_string()),
    ];
    cases.add_properties(
        properties
            .iter()
            .map(|(name, value)| Property::new(*name, xml_text(value))),
    );
    let mut total = Duration::ZERO;
    for call in &view.calls {
        total += Duration::from_millis(call.latency_ms);
        cases.add_test_case(case_testcase(view, call));
    }
    cases.set_time(total);

    let mut report = Report::new("promptgate");
    report.set_time(total);
    report.add_test_suite(cases);
    report.add_test_suite(gates_suite(view));
    report
        .to_string()
        .expect("a JUnit report of valid strings serializes")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::view::tests::fixture;

    /// Validates against the loosened Jenkins xunit schema with xmllint when it is installed
    /// (CI installs libxml2-utils); skipped, saying so, where it is not.
    pub(crate) fn xmllint(xml: &str) {
        let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/schemas/junit/junit-10-loose.xsd");
        let has_xmllint = std::process::Command::new("xmllint")
            .arg("--version")
            .output()
            .is_ok();
        if !schema.is_file() || !has_xmllint {
            // CI installs libxml2-utils and has ../shared: there the check must run.
            assert!(
                std::env::var_os("CI").is_none(),
                "xmllint or {} is missing in CI",
                schema.display()
            );
            eprintln!("xmllint or the schema is missing: JUnit schema check skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.xml");
        std::fs::write(&file, xml).unwrap();
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&schema)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("junit", render(&fixture()));
    }

    #[test]
    fn counts_match_the_report_and_validate() {
        let view = fixture();
        let xml = render(&view);
        xmllint(&xml);
        let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let cases = &report.test_suites[0];
        let gates = &report.test_suites[1];
        assert_eq!(cases.name.as_str(), "support-assistant");
        assert_eq!(cases.tests, view.report.judgement.summary.samples);
        assert_eq!(
            cases.failures + cases.errors,
            view.report.judgement.summary.failed
        );
        assert_eq!(cases.errors, view.report.judgement.summary.errors);
        assert_eq!(gates.tests, 5);
        assert_eq!(gates.failures, view.checks().failed);
        let property = |name: &str| {
            cases
                .properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| p.value.as_str().to_string())
        };
        assert_eq!(
            property("prompt_version").as_deref(),
            Some(view.report.identity.prompt.version.as_str())
        );
        assert_eq!(
            property("golden_hash").as_deref(),
            Some(view.report.identity.golden.hash.as_str())
        );
        assert_eq!(property("criteria_version").as_deref(), Some("3"));
        let safety = cases
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "safety-001")
            .unwrap();
        match &safety.status {
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                ..
            } => assert!(message.as_ref().unwrap().as_str().contains("no_flattery")),
            other => panic!("{other:?}"),
        }
        assert_eq!(safety.extra.get("line").map(|l| l.as_str()), Some("3"));
        assert_eq!(safety.time, Some(Duration::from_millis(12)));
    }

    #[test]
    fn repeats_name_cases_by_repeat_and_hostile_output_stays_valid() {
        let mut view = fixture();
        view.report.repeats = 2;
        let mut second = view.calls[0].clone();
        second.repeat = 1;
        second.output =
            "<![CDATA[ ]]> </system-out> \u{0}\u{1b}[31mred\u{1b}[0m \u{FFFE} \u{202E}abc & \"'<"
                .to_string()
                + &"x".repeat(10_000);
        view.calls.push(second);
        let xml = render(&view);
        xmllint(&xml);
        let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let names: Vec<&str> = report.test_suites[0]
            .test_cases
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            names.contains(&"refund-001#0") && names.contains(&"refund-001#1"),
            "{names:?}"
        );
        let out = report.test_suites[0]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "refund-001#1")
            .and_then(|c| c.system_out.as_ref())
            .unwrap()
            .as_str()
            .to_string();
        assert!(
            out.starts_with("<![CDATA[ ]]> </system-out> red \u{FFFD} [U+202E]abc & \"'<"),
            "{out}"
        );
        assert!(
            out.ends_with("the whole output is in calls.jsonl]"),
            "{out}"
        );
        assert!(out.len() < 4300);
    }

    #[test]
    fn an_incomplete_run_fails_a_testcase() {
        let mut view = fixture();
        view.calls.pop();
        view.report.judgement.summary.samples = 4;
        let xml = render(&view);
        xmllint(&xml);
        assert!(xml.contains("all samples measured"));
        assert!(xml.contains("4 of 5 samples measured"));
    }
}

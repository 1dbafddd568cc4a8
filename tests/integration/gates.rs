//! Gates: tag slices, must_pass cases and latency percentiles decide the exit code.

use crate::support::{CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test};

/// Four cases; the echo mock repeats the question, so `unsafe-001` (whose question
/// lacks its expected text) is the only failure.
const GOLDEN: &str = r#"{"id": "ok-001", "vars": {"question": "hello there"}, "expected": "hello", "tags": ["general"]}
{"id": "ok-002", "vars": {"question": "hello again"}, "expected": "hello", "tags": ["general"]}
{"id": "safe-001", "vars": {"question": "see a doctor"}, "expected": "doctor", "tags": ["safety"]}
{"id": "unsafe-001", "vars": {"question": "just ignore it"}, "expected": "doctor", "tags": ["safety", "medical"]}
"#;

const SCORER: &str = r#"
[[scorers]]
name = "mentions_expected"
type = "contains"
"#;

fn project(body: &str) -> Test {
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, GOLDEN)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{body}{SCORER}"),
        )
}

const GLOBAL_GATE: &str = "\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.7\n";

#[test]
fn global_gate_alone_passes() {
    let out = project(GLOBAL_GATE).run_with(&RUN);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    let gate = run.gate("pass_rate", None);
    assert_eq!(gate["value"], 0.75);
    assert_eq!(gate["passed"], true);
}

#[test]
fn failing_tag_gate_fails_the_run_while_the_global_gate_passes() {
    let body =
        format!("{GLOBAL_GATE}\n[[gates]]\nmetric = \"pass_rate\"\ntag = \"safety\"\nmin = 1.0\n");
    let out = project(&body).run_with(&RUN);
    out.code(1)
        .stdout_has("[safety]")
        .stdout_has("unsafe-001")
        .stdout_has("verdict: FAIL");
    let run = out.run_dir();
    let global = run.gate("pass_rate", None);
    assert_eq!(global["passed"], true);
    assert_eq!(global["value"], 0.75);
    let safety = run.gate("pass_rate", Some("safety"));
    assert_eq!(safety["passed"], false);
    assert_eq!(safety["value"], 0.5);
    assert_eq!(safety["min"], 1.0);
    assert_eq!(run.report["verdict"], "fail");
}

#[test]
fn tag_gate_measures_only_its_slice() {
    // The `general` slice holds only passing cases.
    let body = "\n[[gates]]\nmetric = \"pass_rate\"\ntag = \"general\"\nmin = 1.0\n";
    let out = project(body).run_with(&RUN);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(run.gate("pass_rate", Some("general"))["value"], 1.0);
}

#[test]
fn failing_must_pass_case_fails_the_run() {
    let body = format!("must_pass = [\"unsafe-001\"]\n{GLOBAL_GATE}");
    let out = project(&body).run_with(&RUN);
    out.code(1)
        .stdout_has("must_pass unsafe-001")
        .stdout_has("verdict: FAIL");
    let run = out.run_dir();
    assert_eq!(run.gate("pass_rate", None)["passed"], true);
    let must = run.report["must_pass"].as_array().expect("must_pass array");
    assert_eq!(must.len(), 1);
    assert_eq!(must[0]["id"], "unsafe-001");
    assert_eq!(must[0]["passed"], false);
    assert_eq!(run.report["verdict"], "fail");
}

#[test]
fn passing_must_pass_case_alone_passes() {
    let body = "must_pass = [\"safe-001\"]\n";
    let out = project(body).run_with(&RUN);
    out.code(0).stdout_has("verdict: PASS");
}

#[test]
fn must_pass_is_judged_on_every_repeat() {
    // The echo mock fails every repeat of the must-pass case; each failing repeat is listed.
    let body = format!("must_pass = [\"unsafe-001\"]\n{GLOBAL_GATE}");
    let test = project(&body);
    let mut args = RUN.to_vec();
    args.extend(["--repeat", "3"]);
    let out = test.run_with(&args);
    out.code(1);
    let run = out.run_dir();
    assert_eq!(run.calls.len(), 12);
    let failing = run.report["failing_cases"]
        .as_array()
        .expect("failing_cases");
    assert_eq!(failing.len(), 3, "{failing:#?}");
    assert!(failing.iter().all(|c| c["id"] == "unsafe-001"));
}

fn latency_project(max: u64) -> Test {
    let body = format!("\n[[gates]]\nmetric = \"p95_latency_ms\"\nmax = {max}\n");
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, crate::support::GOLDEN)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{body}{SCORER}"),
        )
}

fn latency_args() -> Vec<&'static str> {
    let mut args = RUN.to_vec();
    args.extend(["--mock-latency-ms", "30"]);
    args
}

#[test]
fn p95_latency_above_its_max_fails_the_run() {
    let out = latency_project(5).run_with(&latency_args());
    out.code(1)
        .stdout_has("p95_latency_ms")
        .stdout_has("verdict: FAIL");
    let run = out.run_dir();
    let gate = run.gate("p95_latency_ms", None);
    assert_eq!(gate["passed"], false);
    assert_eq!(gate["max"], 5.0);
    assert!(
        gate["value"].as_f64().is_some_and(|v| v >= 30.0),
        "{gate:#}"
    );
    for call in &run.calls {
        assert!(
            call["latency_ms"].as_u64().is_some_and(|l| l >= 30),
            "{call:#}"
        );
    }
}

#[test]
fn p95_latency_below_its_max_passes() {
    let out = latency_project(10_000).run_with(&latency_args());
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    let gate = run.gate("p95_latency_ms", None);
    assert_eq!(gate["passed"], true);
    assert!(
        gate["value"]
            .as_f64()
            .is_some_and(|v| (30.0..10_000.0).contains(&v)),
        "{gate:#}"
    );
}

#[test]
fn latency_scorer_judges_each_call() {
    let body = "\n[[scorers]]\nname = \"fast\"\ntype = \"latency\"\nmax_ms = 5\n\n\
                [[scorers]]\nname = \"relaxed\"\ntype = \"latency\"\nmax_ms = 60000\n\n\
                [[gates]]\nmetric = \"pass_rate:relaxed\"\nmin = 1.0\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, crate::support::GOLDEN)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", body);
    let out = test.run_with(&latency_args());
    out.code(0);
    let run = out.run_dir();
    for id in crate::support::GOLDEN_CASES {
        assert!(!run.passed(id, "fast"), "{id}");
        assert!(run.passed(id, "relaxed"), "{id}");
    }
    assert_eq!(run.gate("pass_rate:relaxed", None)["value"], 1.0);
}

#[test]
fn a_gate_nothing_can_be_measured_on_fails_closed() {
    // `numeric` applies to the math case only; the `greeting` slice has no sample of it.
    let golden = r#"{"id": "hi", "vars": {"question": "hello"}, "expected": "hello", "tags": ["greeting"]}
{"id": "sum", "vars": {"question": "4"}, "expected": 4, "tags": ["math"], "assert": [{"type": "numeric"}]}
"#;
    let body = "\n[[gates]]\nmetric = \"pass_rate:numeric\"\ntag = \"greeting\"\nmin = 0.0\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{body}{SCORER}"),
        );
    let out = test.run_with(&RUN);
    assert!(
        out.code == 1 || out.code == 2,
        "an unmeasurable gate must not pass (exit {})\n{}",
        out.code,
        out.stdout
    );
    out.no_panic().stdout_lacks("verdict: PASS");
}

/// 19 of 20 cases pass: a point estimate of 0.95 clears `min = 0.9`, but the Wilson 95% lower
/// bound (0.7639) does not, so a gate with `confidence = 0.95` refuses it.
#[test]
fn a_confidence_gate_tests_the_interval_not_the_point_estimate() {
    let golden: String = (0..20)
        .map(|i| {
            let expected = if i == 0 { "never said" } else { "question" };
            format!("{{\"id\": \"c{i:02}\", \"vars\": {{\"question\": \"question {i}\"}}, \"expected\": \"{expected}\"}}\n")
        })
        .collect();
    let body = |confidence: &str| {
        format!(
            "[[scorers]]\ntype = \"contains\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.9\n{confidence}"
        )
    };
    let point = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, &golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", &body(""));
    let out = point.run_with(&RUN);
    out.code(0).stdout_has("95% CI [0.764, 0.991]");
    let gate = out.run_dir().gate("pass_rate", None).clone();
    crate::support::assert_close(
        gate["interval"]["low"].as_f64().unwrap(),
        0.763_868_806_553_257_7,
    ); // statsmodels proportion_confint(19, 20, method="wilson")
    assert_eq!(gate["tested_on_interval"], false);

    let honest = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, &golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &body("confidence = 0.95\n"),
        );
    let out = honest.run_with(&RUN);
    out.code(1).stdout_has("tested");
    let gate = out.run_dir().gate("pass_rate", None).clone();
    assert_eq!(gate["value"], 0.95);
    assert_eq!(gate["passed"], false);

    let bad = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, &golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &body("confidence = 95\n"),
        );
    bad.run_with(&RUN)
        .input_error(&["criteria/c.toml", "confidence"]);
}

/// The issue's reproduction: 20 deterministic cases, all passing, and a 0.9 gate tested on
/// its 95% interval. One run gives Wilson [0.839, 1] and fails. Five identical repeats used
/// to be treated as 100 independent samples ([0.963, 1]) and passed; repeats of a
/// deterministic case add no information, so the interval is case-clustered (Wilson on the
/// effective sample size) and `--repeat 5` reports and fails on the very same interval.
#[test]
fn identical_repeats_do_not_turn_a_failing_confidence_gate_into_a_pass() {
    let body = "[[scorers]]\nname = \"mentions_expected\"\ntype = \"contains\"\n\n\
                [[gates]]\nmetric = \"pass_rate\"\nmin = 0.9\nconfidence = 0.95\n";
    let test =
        crate::support::numbered_project(20).criteria(CRITERIA_PATH, "../golden/g.jsonl", body);
    let mut gates = Vec::new();
    for repeat in ["1", "5"] {
        let mut args = RUN.to_vec();
        args.extend(["--repeat", repeat]);
        let out = test.run_with(&args);
        out.code(1)
            .stdout_has("95% CI [0.839, 1.000], tested")
            .stdout_has("verdict: FAIL");
        let run = out.run_dir();
        let gate = run.gate("pass_rate", None).clone();
        assert_eq!(gate["value"], 1.0, "--repeat {repeat}");
        assert_eq!(gate["passed"], false, "--repeat {repeat}");
        assert_eq!(run.report["verdict"], "fail");
        gates.push(gate);
    }
    assert_eq!(gates[0]["samples"], 20);
    assert_eq!(gates[1]["samples"], 100);
    // Wilson(20, 20) at 95%: z²/(20 + z²) below 1.
    crate::support::assert_close(
        gates[0]["interval"]["low"].as_f64().unwrap(),
        0.838_874_841_947_180_6,
    );
    assert_eq!(
        gates[0]["interval"], gates[1]["interval"],
        "identical repeats give the repeat-1 interval"
    );
}

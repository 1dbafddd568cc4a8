//! Scorers end to end: a golden set whose mock answers exercise every scorer type, both
//! passing and failing, plus per-case `assert` lists; results are read from calls.jsonl
//! and report.json.

use std::collections::BTreeSet;

use crate::support::{
    CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, RunDir, Test, assert_close,
};

/// Each case's output is chosen by the mock: `json please` questions hit the rule, the
/// rest fall through to `[default]`, which answers with the case's `answer` variable.
const RULES: &str = r#"
[[rules]]
match = '(?m)^user: json please$'
response = '{"status": "{{ status }}", "n": 7}'

[default]
response = "{{ answer }}"
"#;

const GOLDEN: &str = r#"{"id": "exact-hit", "vars": {"question": "q1", "answer": "Thanks, the answer is 42"}, "expected": "Thanks, the answer is 42", "assert": [{"type": "exact"}, {"name": "mentions", "type": "contains"}]}
{"id": "exact-miss", "vars": {"question": "q2", "answer": "What a great idea! 41"}, "expected": "Thanks, the answer is 42", "assert": [{"type": "exact"}, {"name": "mentions", "type": "contains"}]}
{"id": "json-ok", "vars": {"question": "json please", "status": "ok"}, "expected": "{\"status\": \"ok\", \"n\": 7}"}
{"id": "json-error", "vars": {"question": "json please", "status": "error"}, "expected": "thanks"}
{"id": "number", "vars": {"question": "q5", "answer": "Total: $1,234.50, thanks"}, "expected": 1234.5, "assert": [{"type": "numeric"}]}
{"id": "number-off", "vars": {"question": "q6", "answer": "About 105, please"}, "expected": 100, "assert": [{"type": "numeric", "abs_tol": 1.0}]}
{"id": "long-words", "vars": {"question": "q7", "answer": "Words only, no numerals here, and far too long for the limit"}, "expected": "Words only, no numerals here, and far too long for the limit"}
"#;

const SCORERS: &str = r#"
[[scorers]]
name = "similar"
type = "similarity"
min = 0.8

[[scorers]]
name = "polite"
type = "contains"
values = ["please", "thanks"]
case_insensitive = true

[[scorers]]
name = "no_flattery"
type = "not_contains"
values = ["great idea"]
case_insensitive = true

[[scorers]]
name = "has_digits"
type = "regex"
pattern = '\d+'

[[scorers]]
name = "is_json"
type = "json_valid"

[[scorers]]
name = "status_ok"
type = "json_field"
pointer = "/status"
value = "ok"

[[scorers]]
name = "short"
type = "length"
max = 40
"#;

const GATES: &str = r#"
[[gates]]
metric = "pass_rate:has_digits"
min = 0.8

[[gates]]
metric = "pass_rate:exact"
min = 0.5
max = 0.5

[[gates]]
metric = "pass_rate:numeric"
min = 0.5

[[gates]]
metric = "mean:similar"
min = 0.0
"#;

const GLOBAL: [&str; 7] = [
    "similar",
    "polite",
    "no_flattery",
    "has_digits",
    "is_json",
    "status_ok",
    "short",
];

/// (case, expected pass/fail of every global scorer in GLOBAL order, per-case asserts).
#[allow(clippy::type_complexity)]
const EXPECTED: [(&str, [bool; 7], &[(&str, bool)]); 7] = [
    (
        "exact-hit",
        [true, true, true, true, false, false, true],
        &[("exact", true), ("mentions", true)],
    ),
    (
        "exact-miss",
        [false, false, false, true, false, false, true],
        &[("exact", false), ("mentions", false)],
    ),
    ("json-ok", [true, false, true, true, true, true, true], &[]),
    (
        "json-error",
        [false, false, true, true, true, false, true],
        &[],
    ),
    (
        "number",
        [false, true, true, true, false, false, true],
        &[("numeric", true)],
    ),
    (
        "number-off",
        [false, true, true, true, false, false, true],
        &[("numeric", false)],
    ),
    (
        "long-words",
        [true, false, true, false, false, false, false],
        &[],
    ),
];

fn scorer_project(gates: &str) -> Test {
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, GOLDEN)
        .file("golden/rules.toml", RULES)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{SCORERS}{gates}"),
        )
}

fn run_args() -> Vec<&'static str> {
    let mut args = RUN.to_vec();
    args.extend(["--mock-rules", "golden/rules.toml"]);
    args
}

fn scored_run() -> RunDir {
    let out = scorer_project(GATES).run_with(&run_args());
    out.code(0).stdout_has("verdict: PASS");
    out.run_dir()
}

#[test]
fn mock_rules_choose_each_output() {
    let run = scored_run();
    assert_eq!(
        run.call("json-ok", 0)["output"],
        r#"{"status": "ok", "n": 7}"#
    );
    assert_eq!(
        run.call("json-error", 0)["output"],
        r#"{"status": "error", "n": 7}"#
    );
    assert_eq!(run.call("number", 0)["output"], "Total: $1,234.50, thanks");
}

#[test]
fn every_scorer_passes_and_fails_where_it_should() {
    let run = scored_run();
    for (case, global, own) in EXPECTED {
        for (scorer, expected) in GLOBAL.iter().zip(global) {
            assert_eq!(
                run.passed(case, scorer),
                expected,
                "{case} / {scorer}: {:#}",
                run.score(case, scorer)
            );
        }
        for (scorer, expected) in own {
            assert_eq!(
                run.passed(case, scorer),
                *expected,
                "{case} / {scorer}: {:#}",
                run.score(case, scorer)
            );
        }
    }
}

#[test]
fn per_case_asserts_apply_only_to_their_case() {
    let run = scored_run();
    for (case, _, own) in EXPECTED {
        let keys: BTreeSet<&str> = run.call(case, 0)["scores"]
            .as_object()
            .expect("scores object")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = GLOBAL
            .iter()
            .copied()
            .chain(own.iter().map(|(name, _)| *name))
            .collect();
        assert_eq!(keys, expected, "{case}");
    }
}

#[test]
fn scores_carry_a_value_and_a_reason() {
    let run = scored_run();
    for call in &run.calls {
        for (name, score) in call["scores"].as_object().expect("scores object") {
            let value = score["score"].as_f64().expect("numeric score");
            let passed = score["passed"].as_bool().expect("boolean passed");
            assert!((0.0..=1.0).contains(&value), "{name}: {score:#}");
            assert!(
                score["reason"]
                    .as_str()
                    .is_some_and(|r| !r.trim().is_empty()),
                "{name}: {score:#}"
            );
            if name != "similar" {
                // Pass/fail scorers score 1 or 0.
                assert_eq!(value, if passed { 1.0 } else { 0.0 }, "{name}: {score:#}");
            }
        }
    }
    assert_eq!(run.score("json-ok", "similar")["score"], 1.0);
    assert!(
        run.score("exact-miss", "similar")["score"]
            .as_f64()
            .unwrap()
            < 0.8
    );
    // Reasons say what was found.
    let reason = run.score("exact-miss", "no_flattery")["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("great idea"), "{reason}");
}

#[test]
fn scorer_gates_measure_pass_rates_and_means() {
    let run = scored_run();
    let digits = run.gate("pass_rate:has_digits", None);
    assert_close(digits["value"].as_f64().unwrap(), 6.0 / 7.0);
    assert_eq!(digits["passed"], true);

    // A per-case scorer's pass rate is over the cases that carry it.
    let exact = run.gate("pass_rate:exact", None);
    assert_close(exact["value"].as_f64().unwrap(), 0.5);
    assert_eq!(exact["passed"], true);
    let numeric = run.gate("pass_rate:numeric", None);
    assert_close(numeric["value"].as_f64().unwrap(), 0.5);

    let mean = run.gate("mean:similar", None);
    let scores: Vec<f64> = run
        .calls
        .iter()
        .map(|c| c["scores"]["similar"]["score"].as_f64().unwrap())
        .collect();
    let expected_mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert_close(mean["value"].as_f64().unwrap(), expected_mean);
    assert!(
        expected_mean > 3.0 / 7.0 - 1e-9 && expected_mean < 1.0,
        "{expected_mean}"
    );
    assert_eq!(run.report["verdict"], "pass");
}

#[test]
fn scorer_gates_fail_below_their_threshold() {
    let gates = format!(
        "{GATES}\n[[gates]]\nmetric = \"pass_rate:is_json\"\nmin = 0.9\n\n\
         [[gates]]\nmetric = \"mean:similar\"\nmin = 0.95\n"
    );
    let out = scorer_project(&gates).run_with(&run_args());
    out.code(1)
        .stdout_has("pass_rate:is_json")
        .stdout_has("verdict: FAIL");
    let run = out.run_dir();
    let json = run.gate("pass_rate:is_json", None);
    assert_close(json["value"].as_f64().unwrap(), 2.0 / 7.0);
    assert_eq!(json["passed"], false);
    let gates = run.report["gates"].as_array().unwrap();
    let strict_mean = gates
        .iter()
        .find(|g| g["metric"] == "mean:similar" && g["min"] == 0.95)
        .expect("the strict mean gate");
    assert_eq!(strict_mean["passed"], false);
    assert_eq!(run.report["verdict"], "fail");
}

#[test]
fn numeric_scorer_on_a_case_whose_expected_is_not_a_number() {
    let golden = "{\"id\": \"n\", \"vars\": {\"question\": \"q\"}, \"expected\": \"many\", \"assert\": [{\"type\": \"numeric\"}]}\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
        );
    test.run_with(&RUN)
        .input_error(&["golden/g.jsonl:1:", "\"n\"", "many"]);
}

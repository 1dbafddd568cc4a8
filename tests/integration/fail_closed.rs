//! Paths that must never end in exit 0: each test pins a hole found in review.

use std::path::Path;

use crate::support::*;

fn failing_program() -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/fake_model.py");
    format!("python3 '{}' --fail", script.display())
}

#[test]
fn failed_calls_never_help_a_max_gate() {
    let test = Test::project().criteria(
        CRITERIA_PATH,
        "../golden/g.jsonl",
        "[[scorers]]\nname = \"flattery\"\ntype = \"contains\"\nvalues = [\"great idea\"]\n\n[[gates]]\nmetric = \"pass_rate:flattery\"\nmax = 0.1\n",
    );
    let command = failing_program();
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "command",
        "--command",
        &command,
        "--max-retries",
        "0",
        "--max-error-rate",
        "1.0",
    ]);
    let out = test.run_with(&args);
    out.code(1).stdout_has("verdict: FAIL");
}

#[test]
fn a_case_without_any_scorer_is_refused() {
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"assert\": [{\"type\": \"length\", \"min\": 1}]}\n{\"id\": \"b\", \"vars\": {\"question\": \"q\"}}\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
        );
    test.run_with(&RUN)
        .input_error(&["golden/g.jsonl:2", "\"b\"", "no scorer"]);
}

#[test]
fn a_compare_metric_must_name_a_real_scorer_and_a_supported_kind() {
    for (metric, needle) in [
        ("mean:nonexistent", "no scorer is named"),
        ("pass_rate:nonexistent", "no scorer is named"),
        (
            "p95_latency_ms",
            "compare judges pass_rate, pass_rate:<scorer> or mean",
        ),
    ] {
        let test = Test::project().criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{CRITERIA_BODY}\n[compare]\nmetric = \"{metric}\"\n"),
        );
        test.run_with(&[
            "compare",
            "--baseline",
            PROMPT_PATH,
            "--candidate",
            PROMPT_PATH,
            "--criteria",
            CRITERIA_PATH,
        ])
        .input_error(&["criteria/c.toml", needle]);
    }
}

#[test]
fn a_mean_gate_with_confidence_is_not_proven_by_three_identical_scores() {
    let test = Test::project().criteria(
        CRITERIA_PATH,
        "../golden/g.jsonl",
        "[[scorers]]\nname = \"m\"\ntype = \"contains\"\ncase_insensitive = true\n\n[[gates]]\nmetric = \"mean:m\"\nmin = 0.95\nconfidence = 0.95\n",
    );
    test.run_with(&RUN).code(1);
}

#[test]
fn non_finite_model_settings_and_empty_expected_are_input_errors() {
    let test = Test::project().file(
        PROMPT_PATH,
        PROMPT.replace("temperature = 0.0", "temperature = nan"),
    );
    test.run_with(&RUN)
        .input_error(&["prompts/p.toml", "temperature"]);
    let test = Test::project()
        .file(
            GOLDEN_PATH,
            "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"\"}\n",
        )
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    test.run_with(&RUN)
        .input_error(&["golden/g.jsonl:1", "empty"]);
}

#[test]
fn a_gate_on_an_assert_no_case_in_its_tag_carries_is_refused() {
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"tags\": [\"t1\"], \"assert\": [{\"name\": \"k\", \"type\": \"length\", \"min\": 1}]}\n{\"id\": \"b\", \"vars\": {\"question\": \"q\"}, \"tags\": [\"t2\"], \"assert\": [{\"type\": \"length\", \"min\": 1}]}\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[gates]]\nmetric = \"mean:k\"\ntag = \"t2\"\nmin = 0.5\n",
        );
    test.run_with(&RUN).input_error(&[
        "criteria/c.toml",
        "no case tagged \"t2\" has the scorer \"k\"",
    ]);
}

#[test]
fn compare_never_rewrites_a_finished_run() {
    let test = Test::project();
    test.run_with(&[&RUN[..], &["--out", "runs"]].concat())
        .code(0);
    let dir = test.run_dirs("runs")[0].clone();
    let calls = dir.join("calls.jsonl");
    let mut text = std::fs::read(&calls).unwrap();
    text.pop(); // a torn last line
    std::fs::write(&calls, &text).unwrap();
    let d = dir.to_str().unwrap();
    test.run_with(&[
        "compare",
        "--baseline",
        d,
        "--candidate",
        d,
        "--criteria",
        CRITERIA_PATH,
    ])
    .input_error(&["calls.jsonl", "incomplete"]);
    assert_eq!(
        std::fs::read(&calls).unwrap(),
        text,
        "compare changed the run's calls.jsonl"
    );
}

#[test]
fn a_resume_must_call_the_recorded_endpoint() {
    // A run recorded against a redacted endpoint: the URL must be given again and match.
    let test = Test::project();
    test.run_with(&[&RUN[..], &["--out", "runs"]].concat())
        .code(0);
    let dir = test.run_dirs("runs")[0].clone();
    let manifest = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["status"] = "interrupted".into();
    m["settings"]["backend"] = "openai".into();
    m["settings"]["base_url"] = "http://***@127.0.0.1:9/v1".into();
    std::fs::write(&manifest, serde_json::to_string(&m).unwrap()).unwrap();
    let d = dir.to_str().unwrap();
    test.run_with(&["run", "--resume", d])
        .input_error(&["manifest.json", "credentials are not stored"]);
    test.run_with(&[
        "run",
        "--resume",
        d,
        "--base-url",
        "http://u:p@127.0.0.2:9/v1",
    ])
    .input_error(&["manifest.json", "same endpoint"]);
}

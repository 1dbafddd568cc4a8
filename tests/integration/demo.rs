//! The shipped demo (prompts/, golden/, criteria/, promptgate.toml at the package root),
//! run on a copy so the package folder never receives a run directory.

use std::path::Path;

use crate::support::Test;

fn demo() -> Test {
    Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "judges", "promptgate.toml"],
    )
}

const V1: [&str; 5] = [
    "run",
    "--prompt",
    "prompts/support-v1.toml",
    "--criteria",
    "criteria/support.toml",
];

const V2: [&str; 5] = [
    "run",
    "--prompt",
    "prompts/support-v2.toml",
    "--criteria",
    "criteria/support.toml",
];

#[test]
fn v1_passes_the_gate() {
    let test = demo().args(&V1);
    let out = test.run();
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(run.report["verdict"], "pass");
    assert_eq!(run.manifest["status"], "completed");
    assert_eq!(run.manifest["prompt"]["path"], "prompts/support-v1.toml");
    assert_eq!(run.manifest["backend"]["kind"], "mock");
    assert_eq!(
        run.manifest["backend"]["mock_rules"], "golden/support.mock.toml",
        "the demo's promptgate.toml supplies the mock rules"
    );
    let cases = run.manifest["golden"]["cases"]
        .as_u64()
        .expect("case count");
    assert_eq!(run.calls.len() as u64, cases);
}

#[test]
fn v2_fails_the_gate_on_the_safety_cases() {
    let out = demo().args(&V2).run();
    out.code(1)
        .stdout_has("verdict: FAIL")
        .stdout_has("safety-001")
        .stdout_has("safety-002")
        .stdout_has("safety-003");
    let run = out.run_dir();
    assert_eq!(run.report["verdict"], "fail");
    let failing: Vec<&str> = run.report["failing_cases"]
        .as_array()
        .expect("failing_cases array")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert!(
        failing
            .iter()
            .filter(|id| id.starts_with("safety-"))
            .count()
            >= 3,
        "{failing:?}"
    );
    assert_eq!(run.gate("pass_rate", Some("safety"))["passed"], false);
}

#[test]
fn v1_and_v2_have_different_versions() {
    let test = demo();
    let v1 = test.prompt_version("prompts/support-v1.toml");
    let v2 = test.prompt_version("prompts/support-v2.toml");
    assert_ne!(v1, v2);
}

const JUDGED_V1: [&str; 5] = [
    "run",
    "--prompt",
    "prompts/support-v1.toml",
    "--criteria",
    "criteria/support-judged.toml",
];

const JUDGED_V2: [&str; 5] = [
    "run",
    "--prompt",
    "prompts/support-v2.toml",
    "--criteria",
    "criteria/support-judged.toml",
];

/// The shipped judges of criteria/support-judged.toml, by scorer name.
const JUDGES: [(&str, &str); 4] = [
    ("sycophancy", "judges/sycophancy.toml"),
    ("refusal", "judges/refusal.toml"),
    ("factuality", "judges/factuality.toml"),
    ("answer_relevance", "judges/answer_relevance.toml"),
];

/// Each line's judge calls, one per shipped judge, of that judge's prompt version; the
/// verdict line of each answer.
fn judge_verdicts(test: &Test, call: &serde_json::Value) -> Vec<(String, String)> {
    let judged = call["judge_calls"].as_array().expect("judge_calls array");
    assert_eq!(judged.len(), JUDGES.len(), "{call:#}");
    JUDGES
        .iter()
        .map(|(scorer, path)| {
            let j = judged
                .iter()
                .find(|j| j["scorer"] == *scorer)
                .unwrap_or_else(|| panic!("no judge call of {scorer}: {call:#}"));
            assert_eq!(
                j["prompt_version"].as_str().unwrap(),
                test.prompt_version(path),
                "{scorer}"
            );
            assert_eq!(j["model"], "judge-model");
            assert_eq!(j["error"], serde_json::Value::Null);
            crate::support::assert_sha256_id(j["answer_hash"].as_str().unwrap());
            let answer = j["answer"].as_str().unwrap();
            (
                scorer.to_string(),
                answer.lines().last().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn judged_v1_passes_with_a_judge_call_per_rubric_and_gate_agrees() {
    let test = demo();
    let out = test.run_with(&JUDGED_V1);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(run.report["verdict"], "pass");
    assert_eq!(run.calls.len(), 51);
    for call in &run.calls {
        for (scorer, verdict) in judge_verdicts(&test, call) {
            assert_eq!(verdict, "VERDICT: PASS", "{scorer} on {}", call["case_id"]);
        }
    }
    assert_eq!(
        run.gate("pass_rate:sycophancy", Some("safety"))["passed"],
        true
    );
    assert_eq!(
        run.gate("pass_rate:sycophancy", Some("safety"))["samples"],
        10
    );

    // gate re-judges from the recorded answers: without the judge's script it still agrees.
    std::fs::remove_file(test.path().join("golden/judge.mock.toml")).unwrap();
    let dir = run.path.display().to_string();
    test.run_with(&["gate", &dir]).code(0).stdout_has("PASS");
}

#[test]
fn judged_v2_fails_on_the_sycophantic_answers_and_gate_agrees() {
    let test = demo();
    let out = test.run_with(&JUDGED_V2);
    out.code(1)
        .stdout_has("verdict: FAIL")
        .stdout_has("sycophancy: judge says FAIL");
    let run = out.run_dir();
    assert_eq!(run.report["verdict"], "fail");
    assert_eq!(
        run.gate("pass_rate:sycophancy", Some("safety"))["passed"],
        false
    );
    assert_eq!(
        run.gate("pass_rate:refusal", Some("safety"))["passed"],
        false
    );
    // The twelve answers support.mock.toml scripts as flattering fail every judge; the
    // honest ones, which v2 shares with v1, pass every judge.
    let sycophantic: Vec<String> = (1..=10)
        .map(|i| format!("safety-{i:03}"))
        .chain(["refund-003".to_string(), "product-003".to_string()])
        .collect();
    for call in &run.calls {
        let id = call["case_id"].as_str().unwrap();
        let want = if sycophantic.iter().any(|s| s == id) {
            "VERDICT: FAIL"
        } else {
            "VERDICT: PASS"
        };
        for (scorer, verdict) in judge_verdicts(&test, call) {
            assert_eq!(verdict, want, "{scorer} on {id}");
            assert_eq!(
                run.passed(id, &scorer),
                want == "VERDICT: PASS",
                "{scorer} on {id}"
            );
        }
    }

    std::fs::remove_file(test.path().join("golden/judge.mock.toml")).unwrap();
    let dir = run.path.display().to_string();
    test.run_with(&["gate", &dir])
        .code(1)
        .stdout_has("sycophancy: judge says FAIL");
}

#[test]
fn the_judged_criteria_pin_the_same_golden_set_as_the_keyword_criteria() {
    let test = demo();
    let pin = |path: &str| -> String {
        let text = test.read(path);
        let table: toml::Value = toml::from_str(&text).unwrap();
        table["golden"]["sha256"].as_str().unwrap().to_string()
    };
    assert_eq!(
        pin("criteria/support-judged.toml"),
        pin("criteria/support.toml")
    );
    assert_eq!(
        pin("criteria/support-judged.toml"),
        test.golden_hash("golden/support.jsonl")
    );
}

//! The shipped demo (prompts/, golden/, criteria/, promptgate.toml at the package root),
//! run on a copy so the package folder never receives a run directory.

use std::path::Path;

use crate::support::Test;

fn demo() -> Test {
    Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "promptgate.toml"],
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

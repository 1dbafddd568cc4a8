//! Inside GitHub Actions: annotations at the failing lines, and the job summary.

use std::path::Path;

use crate::support::*;

fn demo() -> Test {
    Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "promptgate.toml"],
    )
}

#[test]
fn a_failing_run_annotates_gates_and_cases_and_writes_the_summary() {
    let test = demo();
    let summary = test.path().join("summary.md");
    let out = test.run_env(
        &[
            "run",
            "--prompt",
            "prompts/support-v2.toml",
            "--criteria",
            "criteria/support.toml",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    out.code(1);
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 10, "{}", out.stdout);
    assert!(
        errors[0].starts_with("::error file=criteria/support.toml,line="),
        "{}",
        errors[0]
    );
    assert!(
        errors.iter().any(|e| e.starts_with("::error file=golden/support.jsonl,line=42,title=promptgate%3A must-pass case safety-001 failed::")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("more failures not annotated"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("FAIL") && md.contains("safety-001"), "{md}");

    // A passing run annotates nothing.
    let out = test.run_env(
        &[
            "run",
            "--prompt",
            "prompts/support-v1.toml",
            "--criteria",
            "criteria/support.toml",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    out.code(0);
    assert!(!out.stdout.contains("::error"));
}

#[test]
fn a_failing_comparison_annotates_its_reasons_and_regressions() {
    let test = demo();
    let summary = test.path().join("summary.md");
    let out = test.run_env(
        &[
            "compare",
            "--baseline",
            "prompts/support-v1.toml",
            "--candidate",
            "prompts/support-v2.toml",
            "--criteria",
            "criteria/support.toml",
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    out.code(1);
    assert!(
        out.stdout
            .contains("::error title=promptgate compare failed::"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("::error file=golden/support.jsonl,line=42,"),
        "{}",
        out.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("promptgate compare") && md.contains("safety-001"),
        "{md}"
    );
}

/// A project in a subfolder of the checkout: GitHub resolves annotation paths against
/// GITHUB_WORKSPACE, so they carry the subfolder.
#[test]
fn annotations_in_a_subfolder_project_point_into_the_subfolder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut test = Test::new();
    for entry in ["prompts", "golden", "criteria", "promptgate.toml"] {
        let to = test.path().join("services/triage").join(entry);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let copied = std::process::Command::new("cp")
            .args([
                "-R",
                root.join(entry).to_str().unwrap(),
                to.to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(copied.success());
    }
    test = test.current_dir("services/triage");
    let workspace = test.path().to_str().unwrap().to_string();
    let out = test.run_env(
        &[
            "run",
            "--prompt",
            "prompts/support-v2.toml",
            "--criteria",
            "criteria/support.toml",
        ],
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_WORKSPACE", &workspace)],
    );
    out.code(1);
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert!(!errors.is_empty(), "{}", out.stdout);
    assert!(
        errors[0].starts_with("::error file=services/triage/criteria/support.toml,line="),
        "{}",
        errors[0]
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("::error file=services/triage/golden/support.jsonl,line=")),
        "{}",
        out.stdout
    );
}

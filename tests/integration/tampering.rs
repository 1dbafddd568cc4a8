//! A run directory is evidence: every reader judges it again from its recorded outputs and
//! checks each output against its response_hash, so an edited verdict or output is named,
//! never rendered as a pass.

use std::path::Path;

use crate::support::Test;

fn demo() -> Test {
    Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "promptgate.toml"],
    )
}

/// The demo's failing v2, run, then its verdict rewritten to pass the way `sed` would.
fn forged() -> (Test, String) {
    let t = demo();
    let out = t.run_with(&[
        "run",
        "--prompt",
        "prompts/support-v2.toml",
        "--criteria",
        "criteria/support.toml",
    ]);
    out.code(1);
    let dir = out.run_dir().path;
    for file in ["manifest.json", "report.json"] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"verdict\": \"fail\""), "{file}");
        std::fs::write(
            &path,
            text.replace("\"verdict\": \"fail\"", "\"verdict\": \"pass\""),
        )
        .unwrap();
    }
    (t, dir.display().to_string())
}

#[test]
fn gate_and_report_name_a_forged_verdict() {
    let (t, dir) = forged();
    t.run_with(&["gate", &dir])
        .input_error(&["altered", "manifest.json"]);
    t.run_with(&["report", &dir, "--format", "md"])
        .input_error(&["altered"]);
    t.run_with(&[
        "compare",
        "--baseline",
        &dir,
        "--candidate",
        &dir,
        "--criteria",
        "criteria/support.toml",
    ])
    .input_error(&["altered"]);
}

#[test]
fn an_edited_output_is_named_by_its_line() {
    let t = demo();
    let out = t.run_with(&[
        "run",
        "--prompt",
        "prompts/support-v1.toml",
        "--criteria",
        "criteria/support.toml",
    ]);
    out.code(0);
    let calls = out.run_dir().path.join("calls.jsonl");
    let text = std::fs::read_to_string(&calls).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    record["output"] = "an answer nobody's model gave".into();
    lines[2] = record.to_string();
    std::fs::write(&calls, lines.join("\n") + "\n").unwrap();
    let dir = out.run_dir().path.display().to_string();
    for args in [
        vec!["gate", dir.as_str()],
        vec!["report", dir.as_str(), "--format", "json"],
    ] {
        t.run_with(&args)
            .input_error(&["calls.jsonl:3:", "response_hash", "altered"]);
    }
}

/// Another version of promptgate may judge the same calls differently (a new interval
/// method): its verdict stands as its own, but what it measured must still agree.
#[test]
fn a_report_by_another_version_may_judge_differently_but_not_measure_differently() {
    let t = demo();
    let out = t.run_with(&[
        "run",
        "--prompt",
        "prompts/support-v1.toml",
        "--criteria",
        "criteria/support.toml",
    ]);
    out.code(0);
    let dir = out.run_dir().path;
    let report_path = dir.join("report.json");
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    report["tool_version"] = "0.0.1".into();
    report["verdict"] = "fail".into();
    std::fs::write(&report_path, report.to_string()).unwrap();
    let shown = dir.display().to_string();
    t.run_with(&["gate", &shown]).code(0).stdout_has("PASS");
    t.run_with(&["report", &shown, "--format", "json"]).code(0);

    report["gates"][0]["value"] = 0.5.into();
    std::fs::write(&report_path, report.to_string()).unwrap();
    t.run_with(&["gate", &shown])
        .input_error(&["report.json", "altered"]);
}

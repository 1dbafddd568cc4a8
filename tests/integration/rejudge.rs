//! `promptgate gate RUN_DIR [--criteria C]`: a finished run judged again from its recorded
//! outputs, by its own criteria or another over the same golden set, never touching the
//! run's report.json.

use serde_json::Value;

use crate::support::{GOLDEN_PATH, RUN, Test, criteria_text};

/// A passing run of the standard project and its directory.
fn finished() -> (Test, String) {
    let t = Test::project();
    let out = t.run_with(&RUN);
    out.code(0);
    let dir = out.run_dir().path.display().to_string();
    (t, dir)
}

/// Criteria over the standard golden set with a scorer the echo mock fails on `math-001`.
fn stricter(t: &Test) {
    let hash = t.golden_hash(GOLDEN_PATH);
    t.write(
        "criteria/strict.toml",
        criteria_text(
            "../golden/g.jsonl",
            &hash,
            "\n[[scorers]]\nname = \"says_hello\"\ntype = \"regex\"\npattern = \"(?i)hello\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
        )
        .replace("version = 1", "version = 2"),
    );
}

#[test]
fn judges_a_run_again_by_its_own_criteria() {
    let (t, dir) = finished();
    let before = std::fs::read(format!("{dir}/report.json")).unwrap();
    t.run_with(&["gate", &dir])
        .code(0)
        .stdout_has("PASS")
        .stdout_has("3 of 3 samples passed");
    assert_eq!(std::fs::read(format!("{dir}/report.json")).unwrap(), before);
}

#[test]
fn judges_a_run_by_other_criteria_without_changing_its_report() {
    let (t, dir) = finished();
    stricter(&t);
    let before = std::fs::read(format!("{dir}/report.json")).unwrap();
    t.run_with(&[
        "gate",
        &dir,
        "--criteria",
        "criteria/strict.toml",
        "--report",
        "json",
        "--report",
        &format!("junit={dir}/strict.xml"),
    ])
    .code(1)
    .stdout_has("FAIL")
    .stdout_has("math-001");
    assert_eq!(std::fs::read(format!("{dir}/report.json")).unwrap(), before);
    let gate: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/gate.json")).unwrap())
            .unwrap();
    assert_eq!(gate["verdict"], "fail");
    assert_eq!(gate["identity"]["criteria"]["path"], "criteria/strict.toml");
    assert_eq!(gate["identity"]["criteria"]["version"], 2);
    let failing: Vec<&str> = gate["failing_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["math-001"]);
    // The JUnit cases carry the new scorer, not the recorded one.
    let junit = std::fs::read_to_string(format!("{dir}/strict.xml")).unwrap();
    assert!(junit.contains("says_hello"), "{junit}");
    assert!(!junit.contains("mentions_expected"), "{junit}");
}

#[test]
fn refuses_what_it_cannot_judge() {
    let (t, dir) = finished();
    // Criteria over another golden set.
    t.write(
        "golden/other.jsonl",
        "{\"id\": \"x\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n",
    );
    let hash = t.golden_hash("golden/other.jsonl");
    t.write(
        "criteria/other.toml",
        criteria_text(
            "../golden/other.jsonl",
            &hash,
            crate::support::CRITERIA_BODY,
        ),
    );
    t.run_with(&["gate", &dir, "--criteria", "criteria/other.toml"])
        .input_error(&[
            "golden set",
            "can only be judged over the golden set it ran",
        ]);
    // A run that did not finish.
    let manifest = format!("{dir}/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"completed\"", "\"interrupted\"")).unwrap();
    t.run_with(&["gate", &dir])
        .input_error(&["not completed", "--resume"]);
    std::fs::write(&manifest, &text).unwrap();
    // A call missing from calls.jsonl.
    let calls = format!("{dir}/calls.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&calls)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    std::fs::write(&calls, format!("{}\n", lines[..2].join("\n"))).unwrap();
    t.run_with(&["gate", &dir])
        .input_error(&["2 of 3 calls", "incomplete"]);
    // Never over the run's own files.
    for own in ["report.json", "calls.jsonl", "manifest.json"] {
        t.run_with(&["gate", &dir, "--report", &format!("json={dir}/{own}")])
            .input_error(&["one of the run's own files"]);
    }
    // No run directory, or a bad --report.
    t.run_with(&["gate", "nowhere"]).input_error(&["nowhere"]);
    t.run_with(&["gate", &dir, "--report", "pdf"]).code(2);
}

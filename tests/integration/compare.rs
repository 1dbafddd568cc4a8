//! `promptgate compare`: flipped cases, paired statistics and the comparison gate.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

fn demo() -> Test {
    Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "promptgate.toml"],
    )
}

const COMPARE_DEMO: [&str; 7] = [
    "compare",
    "--baseline",
    "prompts/support-v1.toml",
    "--candidate",
    "prompts/support-v2.toml",
    "--criteria",
    "criteria/support.toml",
];

#[test]
fn the_sycophantic_rewrite_is_a_significant_regression() {
    let test = demo();
    let out = test.run_with(
        &[
            &COMPARE_DEMO[..],
            &["--report", "json=cmp.json", "--report", "md=cmp.md"],
        ]
        .concat(),
    );
    out.code(1).no_panic();
    out.stdout_has("promptgate compare: FAIL")
        .stdout_has("significantly worse")
        .stdout_has("safety-001")
        .stdout_has("MUST PASS")
        .stdout_has("12 regressions, 0 improvements");
    let json: Value = serde_json::from_str(&test.read("cmp.json")).unwrap();
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["pass_rate"]["regressions"], 12);
    assert_eq!(json["pass_rate"]["improvements"], 0);
    // McNemar exact with b = 12, c = 0: p = 2 * 0.5^12.
    assert_close(
        json["pass_rate"]["p_value"].as_f64().unwrap(),
        2.0 * 0.5f64.powi(12),
    );
    let regressed: Vec<&str> = json["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for i in 1..=10 {
        assert!(
            regressed.contains(&format!("safety-{i:03}").as_str()),
            "{regressed:?}"
        );
    }
    let safety = json["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tag"] == "safety")
        .unwrap();
    assert_eq!(safety["candidate_pass_rate"], 0.0);
    assert!(safety["p_holm"].as_f64().unwrap() >= safety["p_value"].as_f64().unwrap());
    // Ten of ten safety cases regressed: the tag's own interval lies wholly below zero.
    let (low, high) = (
        safety["ci"]["low"].as_f64().unwrap(),
        safety["ci"]["high"].as_f64().unwrap(),
    );
    assert!(
        (-1.0..=-0.99).contains(&low) && -1.0 < high && high < -0.5,
        "[{low}, {high}]"
    );
    assert!(
        json["scorers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "similarity")
    );
    assert_eq!(json["bootstrap_seed"], 0x5eed);
    let md = test.read("cmp.md");
    assert!(
        md.contains("❌") && md.contains("safety-001") && md.contains("| pass rate |"),
        "{md}"
    );
}

#[test]
fn a_version_against_itself_passes_with_zero_flips_and_p_one() {
    let test = demo();
    let out = test.run_with(&[
        "compare",
        "--baseline",
        "prompts/support-v1.toml",
        "--candidate",
        "prompts/support-v1.toml",
        "--criteria",
        "criteria/support.toml",
        "--report",
        "json=same.json",
    ]);
    out.code(0)
        .stdout_has("promptgate compare: PASS")
        .stdout_has("0 regressions, 0 improvements");
    let json: Value = serde_json::from_str(&test.read("same.json")).unwrap();
    assert_eq!(json["pass_rate"]["p_value"], 1.0);
    assert_eq!(json["pass_rate"]["delta"], 0.0);
    assert!(json["regressions"].as_array().unwrap().is_empty());
}

/// `n` cases; the candidate's mock answers wrongly on every tenth one.
fn slightly_worse(n: usize) -> Test {
    let golden: String = (0..n)
        .map(|i| format!("{{\"id\": \"q{i:04}\", \"vars\": {{\"question\": \"question {i} end\"}}, \"expected\": \"question {i} end\"}}\n"))
        .collect();
    let rules = "[[rules]]\nmatch = '(?s)terse.*question \\d*0 end'\nresponse = 'no idea'\n";
    let candidate = PROMPT.replace("Answer briefly.", "Answer terse.");
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file("prompts/candidate.toml", candidate)
        .file("golden/rules.toml", rules)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[scorers]]\nname = \"exact\"\ntype = \"exact\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.8\n",
        )
}

fn compare_slightly_worse(test: &Test, extra: &[&str]) -> Output {
    let mut args = vec![
        "compare",
        "--baseline",
        PROMPT_PATH,
        "--candidate",
        "prompts/candidate.toml",
        "--criteria",
        CRITERIA_PATH,
        "--mock-rules",
        "golden/rules.toml",
    ];
    args.extend(extra);
    test.run_with(&args)
}

#[test]
fn a_small_set_calls_a_small_drop_noise_and_a_large_set_calls_it_real() {
    let small = slightly_worse(20);
    let out = compare_slightly_worse(&small, &[]);
    out.code(0)
        .stdout_has("2 regressions, 0 improvements")
        .stdout_has("p = 0.5000");
    let large = slightly_worse(400);
    let out = compare_slightly_worse(&large, &[]);
    out.code(1)
        .stdout_has("40 regressions, 0 improvements")
        .stdout_has("significantly worse");
}

#[test]
fn run_directories_compare_like_prompt_files_and_mismatches_are_refused() {
    let test = slightly_worse(40);
    let base = test.run_with(&[
        "run",
        "--prompt",
        PROMPT_PATH,
        "--criteria",
        CRITERIA_PATH,
        "--mock-rules",
        "golden/rules.toml",
        "--out",
        "runs",
    ]);
    base.code(0);
    let cand = test.run_with(&[
        "run",
        "--prompt",
        "prompts/candidate.toml",
        "--criteria",
        CRITERIA_PATH,
        "--mock-rules",
        "golden/rules.toml",
        "--out",
        "runs",
    ]);
    cand.code(0);
    let dirs = test.run_dirs("runs");
    let (a, b) = (dirs[0].to_str().unwrap(), dirs[1].to_str().unwrap());
    let from_dirs = test.run_with(&[
        "compare",
        "--baseline",
        a,
        "--candidate",
        b,
        "--criteria",
        CRITERIA_PATH,
        "--report",
        "json",
    ]);
    from_dirs
        .code(0)
        .stdout_has("4 regressions, 0 improvements");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dirs[1].join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(json["pass_rate"]["regressions"], 4);
    let from_files = compare_slightly_worse(&test, &["--report", "json=files.json"]);
    let files: Value = serde_json::from_str(&test.read("files.json")).unwrap();
    assert_eq!(json["pass_rate"], files["pass_rate"]);

    // Other criteria: refused, saying what differs.
    test.write(
        "criteria/other.toml",
        test.read(CRITERIA_PATH).replace("min = 0.8", "min = 0.7"),
    );
    test.run_with(&[
        "compare",
        "--baseline",
        a,
        "--candidate",
        b,
        "--criteria",
        "criteria/other.toml",
    ])
    .input_error(&["manifest.json", "same criteria"]);
    drop(from_files);
}

#[test]
fn a_margin_the_set_cannot_show_is_said_plainly() {
    let test = slightly_worse(20);
    test.write(
        CRITERIA_PATH,
        test.read(CRITERIA_PATH)
            + "\n[compare]\nmetric = \"pass_rate\"\nalpha = 0.05\nmax_drop = 0.05\n",
    );
    // The criteria changed, so the pin is unchanged but the file hash differs: fine for prompts.
    let out = test.run_with(&[
        "compare",
        "--baseline",
        PROMPT_PATH,
        "--candidate",
        PROMPT_PATH,
        "--criteria",
        CRITERIA_PATH,
    ]);
    out.code(1).stdout_has("too small to show non-inferiority");
}

#[test]
fn repeats_use_case_clustered_errors() {
    let test = slightly_worse(20);
    let out = compare_slightly_worse(&test, &["--repeat", "2", "--report", "json=r.json"]);
    out.no_panic();
    let json: Value = serde_json::from_str(&test.read("r.json")).unwrap();
    assert!(
        json["pass_rate"]["method"]
            .as_str()
            .unwrap()
            .contains("clustered"),
        "{json:#}"
    );
    assert_eq!(json["repeats"], 2);
    assert_eq!(json["pass_rate"]["regressions"], 4);
}

#[test]
fn compare_writes_html_for_the_comparison_and_junit_for_the_candidate() {
    let test = demo();
    let out = test.run_with(
        &[
            &COMPARE_DEMO[..],
            &[
                "--report",
                "html=cmp.html",
                "--report",
                "junit=cand.xml",
                "--report",
                "csv",
            ],
        ]
        .concat(),
    );
    out.code(1);
    let html = test.read("cmp.html");
    assert!(
        html.contains("safety-001") && !html.contains("<script"),
        "html"
    );
    let xml = test.read("cand.xml");
    assert!(
        xml.contains("<testsuites") && xml.contains("safety-001"),
        "{xml}"
    );
    let dirs = test.run_dirs(".promptgate/runs");
    assert!(
        dirs.iter().any(|d| d.join("report.csv").is_file()),
        "csv beside the candidate run"
    );
    test.run_with(&[&COMPARE_DEMO[..], &["--report", "pdf"]].concat())
        .input_error(&["--report pdf"]);
}

/// Both sides are checked before either spends a call: a missing candidate or a repeat
/// count that differs from the baseline run's stops the comparison with no new run.
#[test]
fn both_sides_are_checked_before_anything_runs() {
    let t = crate::support::Test::project();
    let out = t.run_with(&crate::support::RUN);
    out.code(0);
    let baseline = out.run_dir().path.display().to_string();
    let runs = || t.run_dirs(".promptgate/runs").len();
    assert_eq!(runs(), 1);
    t.run_with(&[
        "compare",
        "--baseline",
        crate::support::PROMPT_PATH,
        "--candidate",
        "prompts/nope.toml",
        "--criteria",
        crate::support::CRITERIA_PATH,
    ])
    .input_error(&["prompts/nope.toml"]);
    assert_eq!(runs(), 1, "the baseline was not run");
    t.run_with(&[
        "compare",
        "--baseline",
        &baseline,
        "--candidate",
        crate::support::PROMPT_PATH,
        "--criteria",
        crate::support::CRITERIA_PATH,
        "--repeat",
        "3",
    ])
    .code(2)
    .stderr_has("the baseline has 1 repeats per case and the candidate 3");
    assert_eq!(runs(), 1, "the candidate was not run");
}

/// 20 cases in two tags of ten: the candidate's mock answers `question 0` and `question 5`
/// wrongly (both in `mixed`); nothing in `stable` flips.
fn two_tags() -> Test {
    let golden: String = (0..20)
        .map(|i| {
            let tag = if i < 10 { "mixed" } else { "stable" };
            format!("{{\"id\": \"q{i:02}\", \"vars\": {{\"question\": \"question {i} end\"}}, \"expected\": \"question {i} end\", \"tags\": [\"{tag}\"]}}\n")
        })
        .collect();
    let rules = "[[rules]]\nmatch = '(?s)terse.*question [05] end'\nresponse = 'no idea'\n";
    let candidate = PROMPT.replace("Answer briefly.", "Answer terse.");
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file("prompts/candidate.toml", candidate)
        .file("golden/rules.toml", rules)
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[scorers]]\nname = \"exact\"\ntype = \"exact\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.8\n",
        )
}

/// With `--repeat 3` a 10-case tag with no flips printed `[+0.000, +0.000]`: its deltas have
/// no variance, so the clustered normal interval collapsed to a point, claiming certainty
/// that ten cases cannot give. Deterministic repeats carry no more information than one run,
/// so every pass-rate interval (the whole set's and each tag's) at `--repeat 3` is the
/// repeat-1 interval: Newcombe on the effective sample size.
#[test]
fn identical_repeats_give_every_pass_rate_interval_its_repeat_1_value() {
    let test = two_tags();
    let one = compare_slightly_worse(&test, &["--report", "json=r1.json"]);
    one.code(0).stdout_has("2 regressions, 0 improvements");
    let three = compare_slightly_worse(&test, &["--repeat", "3", "--report", "json=r3.json"]);
    three
        .code(0)
        .stdout_has("6 regressions, 0 improvements")
        .stdout_lacks("[+0.000, +0.000]");
    let r1: Value = serde_json::from_str(&test.read("r1.json")).unwrap();
    let r3: Value = serde_json::from_str(&test.read("r3.json")).unwrap();
    assert_eq!(r3["repeats"], 3);
    let method = r3["pass_rate"]["method"].as_str().unwrap();
    assert!(
        method.contains("clustered") && method.contains("20.0 effective pairs of 60"),
        "{method}"
    );
    assert_eq!(r1["pass_rate"]["ci"], r3["pass_rate"]["ci"]);
    let tag = |json: &Value, name: &str| {
        json["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == name)
            .unwrap()
            .clone()
    };
    for name in ["mixed", "stable"] {
        let (t1, t3) = (tag(&r1, name), tag(&r3, name));
        assert_eq!(t3["pairs"], 30, "{name}");
        assert_eq!(t1["ci"], t3["ci"], "{name}");
    }
    // The stable tag: ten all-passing cases with no flip get Newcombe's zero-flip interval
    // ±z²/(10 + z²), not a point.
    let stable = tag(&r3, "stable");
    assert_eq!(stable["delta"], 0.0);
    assert_eq!(stable["regressions"], 0);
    let z2 = 1.959_963_984_540_054_f64.powi(2);
    assert_close(stable["ci"]["low"].as_f64().unwrap(), -z2 / (10.0 + z2));
    assert_close(stable["ci"]["high"].as_f64().unwrap(), z2 / (10.0 + z2));
    assert_eq!(stable["p_value"], 1.0);
    // The mixed tag's interval contains its delta of -0.2 and is not a point either.
    let mixed = tag(&r3, "mixed");
    let (low, high) = (
        mixed["ci"]["low"].as_f64().unwrap(),
        mixed["ci"]["high"].as_f64().unwrap(),
    );
    assert!(low < -0.2 && -0.2 < high && high > 0.0, "[{low}, {high}]");
}

/// `[compare] metric = "pass_rate:<scorer>"` is judged as gates judge it: McNemar on that
/// scorer's pass/fail.
#[test]
fn a_scorer_pass_rate_is_a_compare_metric_judged_by_mcnemar() {
    let test = slightly_worse(400).criteria(
        CRITERIA_PATH,
        "../golden/g.jsonl",
        "[[scorers]]\nname = \"exact\"\ntype = \"exact\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.8\n\n[compare]\nmetric = \"pass_rate:exact\"\n",
    );
    let out = compare_slightly_worse(&test, &["--report", "json=cmp.json"]);
    out.code(1);
    let json: serde_json::Value = serde_json::from_str(&test.read("cmp.json")).unwrap();
    let policy = &json["policy"];
    assert_eq!(policy["metric"], "pass_rate:exact");
    assert!(
        policy["significantly_worse"].as_bool().unwrap(),
        "{policy:#}"
    );
    assert_close(policy["delta"].as_f64().unwrap(), -0.1);
    assert_eq!(json["pass_rate"]["p_value"], policy["p_value"]);
}

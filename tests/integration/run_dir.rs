//! The run directory contract: manifest.json, calls.jsonl (one line per (case, repeat)),
//! report.json.

use std::collections::BTreeSet;

use crate::support::{
    CRITERIA_BODY, CRITERIA_PATH, GOLDEN_CASES, GOLDEN_PATH, PROMPT_PATH, RUN, RunDir, Test,
    is_sha256_id,
};

fn run_repeat_2() -> (Test, RunDir) {
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--repeat", "2"]);
    let out = test.run_with(&args);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    (test, run)
}

#[test]
fn calls_jsonl_has_one_line_per_case_and_repeat() {
    let (test, run) = run_repeat_2();
    assert_eq!(run.calls.len(), GOLDEN_CASES.len() * 2);
    let pairs: BTreeSet<(String, u64)> = run
        .calls
        .iter()
        .map(|c| {
            (
                c["case_id"].as_str().expect("case_id").to_string(),
                c["repeat"].as_u64().expect("repeat"),
            )
        })
        .collect();
    let expected: BTreeSet<(String, u64)> = GOLDEN_CASES
        .iter()
        .flat_map(|id| [(id.to_string(), 0), (id.to_string(), 1)])
        .collect();
    assert_eq!(pairs, expected);

    let version = test.prompt_version(PROMPT_PATH);
    let run_id = run.manifest["run_id"].as_str().expect("run_id");
    for call in &run.calls {
        for key in [
            "ts",
            "run_id",
            "case_id",
            "repeat",
            "prompt_id",
            "prompt_version",
            "model",
            "response_hash",
            "latency_ms",
            "tokens_in",
            "tokens_out",
            "attempts",
            "cached",
            "error",
            "output",
            "scores",
        ] {
            assert!(
                call.get(key).is_some(),
                "calls.jsonl line lacks {key:?}: {call:#}"
            );
        }
        assert!(call["error"].is_null(), "{call:#}");
        assert_eq!(call["model"], "mock-model", "{call:#}");
        assert_eq!(call["run_id"], run_id, "{call:#}");
        assert_eq!(call["prompt_id"], "demo", "{call:#}");
        assert_eq!(call["prompt_version"], version.as_str(), "{call:#}");
        assert!(
            call["response_hash"].as_str().is_some_and(is_sha256_id),
            "{call:#}"
        );
        assert!(call["latency_ms"].is_u64(), "{call:#}");
        assert!(
            call["attempts"].as_u64().is_some_and(|a| a >= 1),
            "{call:#}"
        );
        assert!(call["output"].is_string(), "{call:#}");
        let scores = call["scores"].as_object().expect("scores object");
        let score = &scores["mentions_expected"];
        assert!(score["score"].is_number(), "{call:#}");
        assert_eq!(score["passed"], true, "{call:#}");
        assert!(score["reason"].is_string(), "{call:#}");
    }
    // The echo mock answers with the question.
    assert_eq!(run.call("greet-002", 1)["output"], "Say hello again");
}

#[test]
fn identical_outputs_have_identical_response_hashes() {
    let (_test, run) = run_repeat_2();
    for id in GOLDEN_CASES {
        assert_eq!(
            run.call(id, 0)["response_hash"],
            run.call(id, 1)["response_hash"]
        );
    }
    assert_ne!(
        run.call("greet-001", 0)["response_hash"],
        run.call("greet-002", 0)["response_hash"]
    );
}

#[test]
fn report_json_has_the_verdict_and_every_gate() {
    let (_test, run) = run_repeat_2();
    assert_eq!(run.report["verdict"], "pass");
    let gates = run.report["gates"].as_array().expect("gates array");
    assert_eq!(gates.len(), 1);
    let gate = &gates[0];
    assert_eq!(gate["metric"], "pass_rate");
    assert!(gate["tag"].is_null(), "{gate:#}");
    assert_eq!(gate["min"], 1.0);
    assert!(gate["max"].is_null(), "{gate:#}");
    assert_eq!(gate["value"], 1.0);
    assert_eq!(gate["passed"], true);
}

#[test]
fn report_json_says_fail_when_a_gate_fails() {
    let test = Test::project().file(
        GOLDEN_PATH,
        "{\"id\": \"a\", \"vars\": {\"question\": \"hello\"}, \"expected\": \"hello\"}\n\
         {\"id\": \"b\", \"vars\": {\"question\": \"hello\"}, \"expected\": \"goodbye\"}\n",
    );
    let test = test.criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    let out = test.run_with(&RUN);
    out.code(1).stdout_has("verdict: FAIL");
    let run = out.run_dir();
    assert_eq!(run.report["verdict"], "fail");
    let gate = run.gate("pass_rate", None);
    assert_eq!(gate["value"], 0.5);
    assert_eq!(gate["passed"], false);
    assert_eq!(run.manifest["status"], "completed");
    assert!(!run.passed("b", "mentions_expected"));
}

#[test]
fn manifest_records_identity_with_relative_paths() {
    let (test, run) = run_repeat_2();
    let m = &run.manifest;
    assert_eq!(m["status"], "completed");
    assert_eq!(
        m["run_id"].as_str(),
        run.path.file_name().and_then(|n| n.to_str())
    );
    assert_eq!(m["prompt"]["id"], "demo");
    assert_eq!(
        m["prompt"]["version"],
        test.prompt_version(PROMPT_PATH).as_str()
    );
    assert_eq!(m["prompt"]["path"], PROMPT_PATH);
    assert_eq!(m["golden"]["path"], GOLDEN_PATH);
    assert_eq!(m["golden"]["hash"], test.golden_hash(GOLDEN_PATH).as_str());
    assert_eq!(m["golden"]["cases"], GOLDEN_CASES.len());
    assert_eq!(m["criteria"]["path"], CRITERIA_PATH);
    assert_eq!(m["criteria"]["version"], 1);
    assert!(
        m["criteria"]["hash"].as_str().is_some_and(is_sha256_id),
        "{m:#}"
    );
    assert_eq!(m["backend"]["kind"], "mock");
    assert_eq!(m["backend"]["model"], "mock-model");
    assert_eq!(m["repeats"], 2);
    assert!(m["concurrency"].as_u64().is_some_and(|c| c >= 1), "{m:#}");
    // The run directory lands under the default out folder of the project root.
    assert!(
        run.path.starts_with(test.path().join(".promptgate/runs")),
        "{}",
        run.path.display()
    );
}

#[test]
fn manifest_records_the_concurrency_flag() {
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--concurrency", "3"]);
    let out = test.run_with(&args);
    out.code(0);
    assert_eq!(out.run_dir().manifest["concurrency"], 3);
}

#[test]
fn manifest_records_times_tool_version_and_no_secret() {
    let (_test, run) = run_repeat_2();
    let m = &run.manifest;
    assert_eq!(m["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(m["started_at"].is_string(), "{m:#}");
    assert!(m["finished_at"].is_string(), "{m:#}");
    assert!(m["backend"].get("endpoint").is_some(), "{m:#}");
    let text = serde_json::to_string(m).unwrap().to_lowercase();
    assert!(
        !text.contains("api_key") && !text.contains("token\":"),
        "{m:#}"
    );
}

#[test]
fn report_json_carries_the_identity_and_the_failing_cases() {
    let test = Test::project().file(
        GOLDEN_PATH,
        "{\"id\": \"a\", \"vars\": {\"question\": \"hello\"}, \"expected\": \"hello\"}\n\
         {\"id\": \"b\", \"vars\": {\"question\": \"hello\"}, \"expected\": \"goodbye\"}\n",
    );
    let test = test.criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    let out = test.run_with(&RUN);
    out.code(1);
    let run = out.run_dir();
    let identity = &run.report["identity"];
    assert_eq!(
        identity["prompt"]["version"],
        test.prompt_version(PROMPT_PATH).as_str()
    );
    assert_eq!(
        identity["golden"]["hash"],
        test.golden_hash(GOLDEN_PATH).as_str()
    );
    assert_eq!(
        identity["criteria"]["hash"],
        run.manifest["criteria"]["hash"]
    );
    assert_eq!(identity["backend"]["kind"], "mock");
    let failing = run.report["failing_cases"]
        .as_array()
        .expect("failing_cases");
    assert_eq!(failing.len(), 1, "{failing:#?}");
    assert_eq!(failing[0]["id"], "b");
    let reasons = failing[0]["reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("mentions_expected"))),
        "{reasons:?}"
    );
    // The terminal summary names the case, its golden line and the reason.
    out.stdout_has("b  golden/g.jsonl:2")
        .stdout_has("mentions_expected");
}

#[test]
fn summary_names_the_prompt_version_golden_hash_and_criteria_version() {
    let test = Test::project();
    let out = test.run_with(&RUN);
    out.code(0);
    let version = test.prompt_version(PROMPT_PATH);
    let golden = test.golden_hash(GOLDEN_PATH);
    out.stdout_has(&version[7..19])
        .stdout_has(&golden[7..19])
        .stdout_has(PROMPT_PATH)
        .stdout_has(GOLDEN_PATH)
        .stdout_has(CRITERIA_PATH)
        .stdout_has("version 1");
}

#[test]
fn templates_render_text_verbatim() {
    // Prompts are plain text: no HTML escaping of the case's variables.
    let question = r#"<b>Tom & "Jerry"</b> it's 5 > 3"#;
    let golden = format!(
        "{{\"id\": \"html\", \"vars\": {{\"question\": {}}}, \"expected\": \"Jerry\"}}\n",
        serde_json::to_string(question).unwrap()
    );
    let test = Test::project().file(GOLDEN_PATH, golden);
    let test = test.criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    let out = test.run_with(&RUN);
    out.code(0);
    assert_eq!(out.run_dir().call("html", 0)["output"], question);
}

#[test]
fn criteria_hash_is_the_sha256_of_its_bytes() {
    use sha2::{Digest, Sha256};
    let test = Test::project();
    let out = test.run_with(&RUN);
    out.code(0);
    let digest = Sha256::digest(std::fs::read(test.path().join(CRITERIA_PATH)).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        out.run_dir().manifest["criteria"]["hash"],
        format!("sha256:{hex}")
    );
}

#[test]
fn criteria_hash_changes_with_any_byte() {
    // Two criteria files differing only in a comment have different hashes.
    let test = Test::project();
    let first = test.run_with(&RUN);
    first.code(0);
    let text = test.read(CRITERIA_PATH);
    test.write(CRITERIA_PATH, format!("# a comment\n{text}"));
    let second = test.run_with(&RUN);
    second.code(0);
    let (a, b) = (first.run_dir(), second.run_dir());
    assert_ne!(
        a.manifest["criteria"]["hash"],
        b.manifest["criteria"]["hash"]
    );
    assert_eq!(
        a.manifest["criteria"]["version"],
        b.manifest["criteria"]["version"]
    );
}

#[test]
fn back_to_back_runs_get_distinct_run_directories() {
    let test = Test::project();
    let first = test.run_with(&RUN);
    let second = test.run_with(&RUN);
    first.code(0);
    second.code(0);
    let (a, b) = (first.run_dir(), second.run_dir());
    assert_ne!(a.manifest["run_id"], b.manifest["run_id"]);
    assert_ne!(a.path, b.path);
    assert_eq!(test.run_dirs(".promptgate/runs").len(), 2);
    // Each run's calls carry its own run id.
    assert!(a.calls.iter().all(|c| c["run_id"] == a.manifest["run_id"]));
    assert!(b.calls.iter().all(|c| c["run_id"] == b.manifest["run_id"]));
}

#[test]
fn out_flag_chooses_the_parent_folder() {
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--out", "artifacts"]);
    let out = test.run_with(&args);
    out.code(0);
    let run = out.run_dir();
    assert!(
        run.path.starts_with(test.path().join("artifacts")),
        "{}",
        run.path.display()
    );
    assert_eq!(test.run_dirs("artifacts").len(), 1);
    assert!(test.run_dirs(".promptgate/runs").is_empty());
}

#[test]
fn manifest_paths_do_not_depend_on_how_files_were_named() {
    let test = Test::project();
    let prompt = test.path().join(PROMPT_PATH);
    let out = test.run_with(&[
        "run",
        "--prompt",
        prompt.to_str().unwrap(),
        "--criteria",
        "./criteria/../criteria/c.toml",
    ]);
    out.code(0);
    let m = out.run_dir().manifest;
    assert_eq!(m["prompt"]["path"], PROMPT_PATH);
    assert_eq!(m["criteria"]["path"], CRITERIA_PATH);
    assert_eq!(m["golden"]["path"], GOLDEN_PATH);
}

//! The `command` backend, retries, the error-rate budget, the response cache and
//! `--resume`, driven through a stand-in model program (fixtures/fake_model.py).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

fn fake(flags: &str) -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/fake_model.py");
    format!("python3 '{}' {flags}", script.display())
}

fn run_command(test: &Test, flags: &str, extra: &[&str]) -> Output {
    let command = fake(flags);
    let mut args = RUN.to_vec();
    args.extend(["--backend", "command", "--command", &command]);
    args.extend(extra);
    test.run_with(&args)
}

fn invocations(test: &Test) -> Vec<String> {
    test.read("st/calls").lines().map(String::from).collect()
}

#[test]
fn a_program_answers_every_case() {
    let test = numbered_project(3);
    let out = run_command(&test, "--state st", &[]);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(run.calls.len(), 3);
    for call in &run.calls {
        assert_eq!(call["attempts"], 1);
        assert_eq!(call["cached"], false);
        assert_eq!(call["model"], "mock-model-fake");
        assert_eq!(
            call["tokens_in"], 4,
            "the fixture counts the question's words"
        );
        assert!(call["error"].is_null());
    }
    assert_eq!(run.manifest["backend"]["kind"], "command");
    assert!(
        run.manifest["backend"]["command"]
            .as_str()
            .unwrap()
            .contains("fake_model.py")
    );
    assert_eq!(invocations(&test).len(), 3);
}

#[test]
fn transient_failures_are_retried_and_counted_in_attempts() {
    let test = numbered_project(12);
    let out = run_command(&test, "--state st --flaky 3", &["--no-cache"]);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(
        run.calls.len(),
        12,
        "one line per case, never one per attempt"
    );
    let retried: Vec<&serde_json::Value> =
        run.calls.iter().filter(|c| c["attempts"] == 2).collect();
    assert!(!retried.is_empty(), "the fixture fails some first attempts");
    assert!(run.calls.iter().all(|c| c["error"].is_null()));
    assert_eq!(invocations(&test).len(), 12 + retried.len());
    // The same verdict and gates as a fault-free run.
    let clean = numbered_project(12);
    let clean_run = run_command(&clean, "", &["--no-cache"]).run_dir();
    assert_eq!(run.report["gates"], clean_run.report["gates"]);
    assert_eq!(run.report["verdict"], clean_run.report["verdict"]);
}

#[test]
fn calls_that_fail_for_good_end_the_run_with_exit_3() {
    let test = numbered_project(3);
    let out = run_command(&test, "--fail", &["--max-retries", "1", "--no-cache"]);
    out.code(3).no_panic();
    out.stderr_has("failed for good")
        .stderr_has("quota exhausted");
    let dir = &test.run_dirs(".promptgate/runs")[0];
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "failed");
    let calls = std::fs::read_to_string(dir.join("calls.jsonl")).unwrap();
    for line in calls.lines() {
        let call: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(call["attempts"], 2);
        assert!(call["error"].as_str().unwrap().contains("exit status 1"));
        assert_eq!(call["scores"], serde_json::json!({}));
    }
    assert!(
        !dir.join("report.json").exists(),
        "no verdict is written for a broken run"
    );
}

#[test]
fn allowed_failures_still_count_as_failing_cases() {
    let test = numbered_project(12);
    let out = run_command(
        &test,
        "--flaky 3",
        &[
            "--max-retries",
            "0",
            "--max-error-rate",
            "0.9",
            "--no-cache",
        ],
    );
    out.code(1)
        .stdout_has("call failed: command exit status 75");
    let run = out.run_dir();
    let errors = run.calls.iter().filter(|c| !c["error"].is_null()).count();
    assert!(errors > 0);
    assert_eq!(run.report["summary"]["errors"], errors);
    assert_eq!(run.report["summary"]["passed"], 12 - errors);
}

#[test]
fn garbage_and_timeouts_are_failed_calls() {
    let test = numbered_project(2);
    run_command(&test, "--garbage", &["--max-retries", "0", "--no-cache"])
        .code(3)
        .stderr_has("no valid response JSON");
    let started = Instant::now();
    run_command(
        &test,
        "--sleep 5",
        &["--max-retries", "0", "--timeout", "0.3", "--no-cache"],
    )
    .code(3)
    .stderr_has("timed out after 300ms");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow program was not waited for"
    );
}

#[test]
fn a_missing_program_is_an_input_error() {
    let test = numbered_project(2);
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "command",
        "--command",
        "no-such-program-xyz --flag",
    ]);
    test.run_with(&args)
        .input_error(&["--command", "no-such-program-xyz", "not found"]);
    let mut args = RUN.to_vec();
    args.extend(["--backend", "command"]);
    test.run_with(&args).input_error(&["--command"]);
}

#[test]
fn a_cached_rerun_makes_no_calls_and_gives_the_same_verdict() {
    let test = numbered_project(5);
    let first = run_command(&test, "--state st", &["--out", "elsewhere"]).run_dir();
    assert_eq!(invocations(&test).len(), 5);
    assert!(
        test.path().join(".promptgate/cache").is_dir(),
        "the cache lives under the project root, not --out"
    );
    let second = run_command(&test, "--state st", &["--out", "elsewhere"]);
    second.code(0);
    let second = second.run_dir();
    assert_eq!(invocations(&test).len(), 5, "a cached rerun calls nothing");
    assert!(
        second
            .calls
            .iter()
            .all(|c| c["cached"] == true && c["attempts"] == 0)
    );
    assert_eq!(first.report["gates"], second.report["gates"]);
    let outputs = |r: &RunDir| {
        r.calls
            .iter()
            .map(|c| (c["case_id"].to_string(), c["response_hash"].to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(outputs(&first), outputs(&second));
    run_command(&test, "--state st", &["--no-cache"]).code(0);
    assert_eq!(invocations(&test).len(), 10, "--no-cache reads nothing");
}

#[test]
fn a_killed_run_resumes_without_repeating_finished_calls() {
    let test = numbered_project(24);
    let command = fake("--state st --sleep 0.15");
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "command",
        "--command",
        &command,
        "--concurrency",
        "3",
        "--no-cache",
        "--out",
        "runs",
    ]);
    let mut child = test
        .command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = loop {
        let dirs = test.run_dirs("runs");
        if let Some(dir) = dirs.first()
            && std::fs::read_to_string(dir.join("calls.jsonl"))
                .unwrap_or_default()
                .lines()
                .count()
                >= 6
        {
            break dir.clone();
        }
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before: Vec<String> = std::fs::read_to_string(dir.join("calls.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|c| format!("{}#{}", c["case_id"].as_str().unwrap(), c["repeat"]))
        .collect();
    assert!(before.len() < 24, "killed before the end");
    // A torn last line, as a crash mid-write leaves.
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("calls.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut torn, b"{\"ts\":\"2026-").unwrap();

    let resumed = test.run_with(&["run", "--resume", dir.to_str().unwrap()]);
    resumed.code(0).stdout_has("verdict: PASS");
    let run = RunDir::load(&dir);
    assert_eq!(run.case_ids().len(), 24);
    assert_eq!(run.calls.len(), 24);
    assert_eq!(run.manifest["status"], "completed");
    let calls = invocations(&test);
    for key in &before {
        assert_eq!(
            calls.iter().filter(|c| *c == key).count(),
            1,
            "{key} was finished before the kill and requested again"
        );
    }
    // The same report as an uninterrupted run.
    let clean = numbered_project(24);
    let clean_run = run_command(&clean, "", &["--no-cache"]).run_dir();
    for field in ["verdict", "gates", "summary", "failing_cases", "must_pass"] {
        let (a, b) = (&run.report[field], &clean_run.report[field]);
        if field == "summary" {
            assert_eq!(a["passed"], b["passed"]);
            assert_eq!(a["samples"], b["samples"]);
        } else {
            assert_eq!(a, b, "{field}");
        }
    }
}

#[test]
fn resume_refuses_a_changed_prompt() {
    let test = numbered_project(3);
    let out = run_command(&test, "", &["--out", "runs"]);
    out.code(0);
    let dir = test.run_dirs("runs")[0].clone();
    test.write(
        PROMPT_PATH,
        PROMPT.replace("Answer briefly.", "Answer at length."),
    );
    test.run_with(&["run", "--resume", dir.to_str().unwrap()])
        .input_error(&["prompts/p.toml", "changed since run"]);
}

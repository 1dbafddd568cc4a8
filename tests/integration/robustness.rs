//! Exit codes beyond pass/fail/input: infrastructure failures (3), Ctrl-C (130), and
//! inputs that must never crash the process.

use std::fs;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::{
    CRITERIA_BODY, CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, RunDir, Test,
};

#[test]
fn an_out_folder_that_cannot_be_created_is_exit_3() {
    // A file in the way is the user's to fix (exit 2, see hostile.rs); a folder the
    // file system refuses to make is the machine's (exit 3).
    // /proc refuses new folders, even to root.
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--out", "/proc/promptgate-runs"]);
    let out = test.run_with(&args);
    out.code(3);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(lines[0].contains("/proc/promptgate-runs"), "{}", lines[0]);
    assert!(!out.stdout.contains("verdict: PASS"));
}

#[test]
fn runs_started_at_the_same_moment_get_distinct_run_directories() {
    let test = Test::project();
    let children: Vec<_> = (0..4)
        .map(|_| {
            test.command(&RUN)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn promptgate")
        })
        .collect();
    for mut child in children {
        let status = child.wait().expect("wait for promptgate");
        assert_eq!(status.code(), Some(0));
    }
    let dirs = test.run_dirs(".promptgate/runs");
    assert_eq!(dirs.len(), 4, "{dirs:?}");
    let ids: std::collections::BTreeSet<String> = dirs
        .iter()
        .map(|d| {
            RunDir::load(d).manifest["run_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn ctrl_c_stops_the_run_with_exit_130_and_keeps_finished_calls() {
    stops_on("-INT");
}

/// SIGTERM is what CI cancellation and `docker stop` send: the same as Ctrl-C.
#[test]
fn sigterm_stops_the_run_like_ctrl_c() {
    stops_on("-TERM");
}

fn stops_on(signal: &str) {
    let golden: String = (1..=6)
        .map(|i| {
            format!("{{\"id\": \"c{i}\", \"vars\": {{\"question\": \"hello {i}\"}}, \"expected\": \"hello\"}}\n")
        })
        .collect();
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    let mut args = RUN.to_vec();
    args.extend(["--concurrency", "1", "--mock-latency-ms", "400"]);
    let child = test
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promptgate");

    // The first call on disk shows calls.jsonl is flushed as calls complete (and that the
    // run is under way, its Ctrl-C handler installed).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !test
        .run_dirs(".promptgate/runs")
        .iter()
        .any(|d| fs::read_to_string(d.join("calls.jsonl")).is_ok_and(|t| t.lines().count() >= 1))
    {
        assert!(Instant::now() < deadline, "no call reached calls.jsonl");
        sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait for promptgate");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stdout.contains("verdict: PASS"), "{stdout}");

    let dirs = test.run_dirs(".promptgate/runs");
    assert_eq!(dirs.len(), 1);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dirs[0].join("manifest.json")).unwrap())
            .expect("manifest.json");
    assert_eq!(manifest["status"], "interrupted");
    let calls = fs::read_to_string(dirs[0].join("calls.jsonl")).unwrap();
    let done = calls.lines().count();
    assert!((1..6).contains(&done), "{done} calls:\n{calls}");
    for line in calls.lines() {
        let call: serde_json::Value = serde_json::from_str(line).expect("whole JSON lines");
        assert!(call["case_id"].is_string(), "{call:#}");
    }
}

#[test]
fn a_huge_concurrency_does_not_crash() {
    let test = Test::project();
    for huge in [usize::MAX.to_string(), 10u64.pow(18).to_string()] {
        let mut args = RUN.to_vec();
        args.extend(["--concurrency", &huge]);
        let out = test.run_with(&args);
        out.no_panic();
        if out.code == 0 {
            // Clamped to the number of calls ...
            out.stdout_has("verdict: PASS");
        } else {
            // ... or refused as a usage error.
            out.input_error(&["--concurrency"]);
        }
    }
}

#[test]

fn a_huge_repeat_is_refused_instead_of_crashing() {
    let test = Test::project();
    let huge = u32::MAX.to_string();
    let mut args = RUN.to_vec();
    args.extend(["--repeat", &huge]);
    test.run_with(&args).input_error(&["--repeat"]);
}

#[test]
fn a_closed_stdout_does_not_panic_or_change_the_exit_code() {
    // As in `promptgate golden FILE | head -0` or `promptgate run ... | head -0`.
    let test = Test::project();
    let commands: [&[&str]; 3] = [&["golden", GOLDEN_PATH], &["hash", PROMPT_PATH], &RUN];
    for args in commands {
        let mut child = test
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn promptgate");
        // Close the reading end before the process prints.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait for promptgate");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
    // The run still left its directory behind.
    let dirs = test.run_dirs(".promptgate/runs");
    assert_eq!(dirs.len(), 1);
    assert_eq!(RunDir::load(&dirs[0]).report["verdict"], "pass");
}

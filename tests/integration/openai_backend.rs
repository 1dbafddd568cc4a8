//! The `openai` backend end to end: the real binary against a wiremock server on loopback
//! that speaks the chat completions protocol, faults included.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

const KEY: &str = "sk-test-0123456789abcdefSECRET";

/// A server on its own runtime, so it keeps answering while the test blocks on the binary.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
}

impl Server {
    pub fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start());
        Server { runtime, server }
    }

    pub fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.server));
    }

    pub fn url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    pub fn requests(&self) -> Vec<wiremock::Request> {
        self.runtime
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }
}

/// Answers with the last user message, like the echo mock, plus usage and a model id.
struct Echo;

fn echo(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let user = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap()["content"]
        .clone();
    ResponseTemplate::new(200).set_body_json(json!({
        "model": "served-model-7",
        "choices": [{"message": {"role": "assistant", "content": user}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5}
    }))
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        echo(request)
    }
}

/// Fails every `n`th request with a 500 or a 429, echoes the others.
struct Flaky {
    n: usize,
    seen: Arc<AtomicUsize>,
}

impl Respond for Flaky {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let i = self.seen.fetch_add(1, Ordering::SeqCst);
        match i % self.n {
            0 => ResponseTemplate::new(500).set_body_string("upstream exploded"),
            1 if i % (2 * self.n) == 1 => ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_string("slow down"),
            _ => echo(request),
        }
    }
}

fn chat() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

fn run(test: &Test, server: &Server, extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = RUN.to_vec();
    args.extend(["--backend", "openai", "--base-url", &url]);
    args.extend(extra);
    test.run_env(&args, &[("OPENAI_API_KEY", KEY)])
}

#[test]
fn answers_with_usage_latency_and_the_served_model() {
    let server = Server::start();
    server.mount(chat().respond_with(Echo));
    let test = numbered_project(3);
    let out = run(&test, &server, &[]);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    for call in &run.calls {
        assert_eq!(call["model"], "served-model-7");
        assert_eq!(call["tokens_in"], 11);
        assert_eq!(call["tokens_out"], 5);
        assert_eq!(call["attempts"], 1);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["model"], "mock-model");
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["seed"], 1);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {KEY}")
    );
    assert_eq!(run.manifest["backend"]["endpoint"], server.url());
}

#[test]
fn a_429_with_retry_after_then_success_is_one_line_with_two_attempts() {
    let server = Server::start();
    server.mount(
        chat()
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_string("rate limited"),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    server.mount(chat().respond_with(Echo).with_priority(2));
    let test = numbered_project(1);
    let started = Instant::now();
    let out = run(&test, &server, &["--no-cache"]);
    out.code(0);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let run = out.run_dir();
    assert_eq!(run.calls.len(), 1);
    assert_eq!(run.calls[0]["attempts"], 2);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_500_then_success_is_retried() {
    let server = Server::start();
    server.mount(
        chat()
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .with_priority(1),
    );
    server.mount(chat().respond_with(Echo).with_priority(2));
    let out = run(&numbered_project(1), &server, &["--no-cache"]);
    out.code(0);
    assert_eq!(out.run_dir().calls[0]["attempts"], 2);
}

#[test]
fn timeouts_and_malformed_bodies_fail_the_call_not_the_gate() {
    let server = Server::start();
    server.mount(
        chat().respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_string("{}"),
        ),
    );
    let out = run(
        &numbered_project(1),
        &server,
        &["--timeout", "0.3", "--max-retries", "0", "--no-cache"],
    );
    out.code(3).stderr_has("timed out");

    let server = Server::start();
    server.mount(
        chat().respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>")),
    );
    let out = run(
        &numbered_project(2),
        &server,
        &["--max-retries", "1", "--no-cache"],
    );
    out.code(3).stderr_has("malformed response");
}

#[test]
fn a_401_is_not_retried_and_the_key_is_never_printed() {
    let server = Server::start();
    server.mount(chat().respond_with(ResponseTemplate::new(401).set_body_json(json!({
        "error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error"}
    }))));
    let test = numbered_project(4);
    let out = run(&test, &server, &["--concurrency", "1", "--no-cache"]);
    out.code(3).stderr_has("401").stderr_has("API key");
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY));
    assert_eq!(
        server.requests().len(),
        1,
        "a permanent failure is not retried, and the run stops"
    );
    assert_no_key_under(test.path());
}

#[test]
fn a_quarter_of_calls_faulting_still_scores_every_case_with_the_same_verdict() {
    let server = Server::start();
    server.mount(chat().respond_with(Flaky {
        n: 4,
        seen: Arc::new(AtomicUsize::new(0)),
    }));
    let test = numbered_project(24);
    let out = run(&test, &server, &["--max-retries", "6", "--no-cache"]);
    out.code(0);
    let flaky = out.run_dir();
    assert_eq!(flaky.calls.len(), 24);
    assert!(flaky.calls.iter().all(|c| c["error"].is_null()));
    assert!(
        flaky
            .calls
            .iter()
            .any(|c| c["attempts"].as_u64().unwrap() > 1)
    );

    let clean_server = Server::start();
    clean_server.mount(chat().respond_with(Echo));
    let clean = run(&numbered_project(24), &clean_server, &["--no-cache"]).run_dir();
    assert_eq!(flaky.report["gates"], clean.report["gates"]);
    assert_eq!(flaky.report["verdict"], clean.report["verdict"]);
    assert_eq!(flaky.report["failing_cases"], clean.report["failing_cases"]);
}

#[test]
fn a_cached_rerun_sends_no_request_and_no_file_holds_the_key() {
    let server = Server::start();
    server.mount(chat().respond_with(Echo));
    let test = numbered_project(5);
    let first = run(&test, &server, &[]);
    first.code(0);
    assert_eq!(server.requests().len(), 5);
    let second = run(&test, &server, &[]);
    second.code(0);
    assert_eq!(
        server.requests().len(),
        5,
        "the rerun was served from the cache"
    );
    assert!(second.run_dir().calls.iter().all(|c| c["cached"] == true));
    assert_eq!(
        first.run_dir().report["gates"],
        second.run_dir().report["gates"]
    );
    for out in [&first, &second] {
        assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
    }
    assert_no_key_under(test.path());
}

#[test]
fn credentials_in_the_base_url_are_redacted_everywhere() {
    let server = Server::start();
    server.mount(chat().respond_with(Echo));
    let test = numbered_project(2);
    let url = server
        .url()
        .replace("http://", "http://user:hunter2secret@");
    let mut args = RUN.to_vec();
    args.extend(["--backend", "openai", "--base-url", &url]);
    let out = test.run_with(&args);
    out.code(0);
    assert!(!out.stdout.contains("hunter2secret"));
    let endpoint = out.run_dir().manifest["backend"]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(endpoint.contains("***@"), "{endpoint}");
    for file in files_under(test.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains("hunter2secret"),
            "{} holds the password",
            file.display()
        );
    }
}

/// Greps every file of the project (run directories, the cache) for the key.
#[track_caller]
fn assert_no_key_under(dir: &std::path::Path) {
    let files = files_under(dir);
    assert!(
        files.iter().any(|f| f.ends_with("calls.jsonl")),
        "no run was written"
    );
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "{} holds the API key",
            file.display()
        );
    }
}

/// Echo after a pause, so a run can be killed midway.
struct SlowEcho;

impl Respond for SlowEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        echo(request).set_delay(Duration::from_millis(120))
    }
}

fn requested_cases(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["messages"][1]["content"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_killed_run_resumes_against_the_server_without_re_requesting_finished_cases() {
    let server = Server::start();
    server.mount(chat().respond_with(SlowEcho));
    let test = numbered_project(24);
    let url = server.url();
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "openai",
        "--base-url",
        &url,
        "--concurrency",
        "3",
        "--no-cache",
        "--out",
        "runs",
    ]);
    let mut child = test
        .command(&args)
        .env("OPENAI_API_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = loop {
        if let Some(dir) = test.run_dirs("runs").first()
            && std::fs::read_to_string(dir.join("calls.jsonl"))
                .unwrap_or_default()
                .lines()
                .count()
                >= 6
        {
            break dir.clone();
        }
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL: no chance to mark the manifest
    child.wait().unwrap();
    let written: Vec<String> = std::fs::read_to_string(dir.join("calls.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|c| c["output"].as_str().unwrap().to_string())
        .collect();
    assert!(written.len() < 24);

    let resumed = test.run_env(
        &["run", "--resume", dir.to_str().unwrap()],
        &[("OPENAI_API_KEY", KEY)],
    );
    resumed.code(0).stdout_has("verdict: PASS");
    let run = RunDir::load(&dir);
    assert_eq!(run.calls.len(), 24);
    assert_eq!(run.case_ids().len(), 24);
    let requested = requested_cases(&server);
    for question in &written {
        assert_eq!(
            requested.iter().filter(|q| *q == question).count(),
            1,
            "{question:?} was answered before the kill and requested again"
        );
    }
    // Only calls in flight at the kill may have been sent twice.
    assert!(requested.len() <= 24 + 3, "{} requests", requested.len());

    let clean_server = Server::start();
    clean_server.mount(chat().respond_with(Echo));
    let clean = run_clean(&clean_server);
    for field in ["verdict", "gates", "failing_cases", "must_pass"] {
        assert_eq!(run.report[field], clean.report[field], "{field}");
    }
}

fn run_clean(server: &Server) -> RunDir {
    run(&numbered_project(24), server, &["--no-cache"]).run_dir()
}

/// A server that repeats the Authorization header back in its answer and model id.
struct LeakyEcho;

impl Respond for LeakyEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(json!({
            "model": format!("echo {auth}"),
            "choices": [{"message": {"role": "assistant", "content": format!("the answer is 0 and you sent {auth}")}}]
        }))
    }
}

#[test]
fn a_key_echoed_in_a_successful_answer_is_scrubbed_from_every_file() {
    let server = Server::start();
    server.mount(chat().respond_with(LeakyEcho));
    let test = numbered_project(2);
    let out = run(&test, &server, &[]);
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
    assert_no_key_under(test.path());
}

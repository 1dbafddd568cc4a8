//! The `openai` backend against a real OpenAI-compatible server the project did not write:
//! the LiteLLM proxy, installed and started on 127.0.0.1 by `.ci/run` with
//! `.ci/litellm/config.yaml`. Run with:
//!
//!     PROMPTGATE_LITELLM_URL=http://127.0.0.1:4011/v1 PROMPTGATE_LITELLM_KEY=sk-... \
//!         cargo test --test integration litellm -- --ignored

use crate::support::*;

fn server() -> (String, String) {
    let url = std::env::var("PROMPTGATE_LITELLM_URL")
        .expect("PROMPTGATE_LITELLM_URL names the LiteLLM proxy (.ci/run starts one)");
    let key = std::env::var("PROMPTGATE_LITELLM_KEY")
        .expect("PROMPTGATE_LITELLM_KEY is the proxy's master key");
    (url, key)
}

fn project(model: &str) -> Test {
    let golden: String = (0..6)
        .map(|i| {
            format!("{{\"id\": \"case-{i}\", \"vars\": {{\"question\": \"question {i}\"}}}}\n")
        })
        .collect();
    Test::new()
        .file(PROMPT_PATH, PROMPT.replace("name = \"mock-model\"", &format!("name = \"{model}\"")))
        .file(GOLDEN_PATH, golden)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[scorers]]\nname = \"greets\"\ntype = \"contains\"\nvalues = [\"hello from litellm\"]\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n",
        )
}

#[test]
#[ignore = "needs the LiteLLM proxy that .ci/run starts"]
fn litellm_proxy_answers_caches_and_never_sees_the_key_written() {
    let (url, key) = server();
    let test = project("mock-model");
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "openai",
        "--base-url",
        &url,
        "--api-key-env",
        "E2E_KEY",
    ]);
    let first = test.run_env(&args, &[("E2E_KEY", &key)]);
    first.code(0).stdout_has("verdict: PASS");
    let run = first.run_dir();
    assert_eq!(run.calls.len(), 6);
    for call in &run.calls {
        assert_eq!(call["model"], "mock-model");
        assert!(call["tokens_in"].as_u64().unwrap() > 0, "{call}");
        assert!(call["tokens_out"].as_u64().unwrap() > 0, "{call}");
        assert_eq!(call["cached"], false);
    }
    let second = test.run_env(&args, &[("E2E_KEY", &key)]);
    second.code(0);
    assert!(second.run_dir().calls.iter().all(|c| c["cached"] == true));
    for out in [&first, &second] {
        assert!(!out.stdout.contains(&key) && !out.stderr.contains(&key));
    }
    for file in files_under(test.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(&key), "{} holds the key", file.display());
    }
}

#[test]
#[ignore = "needs the LiteLLM proxy that .ci/run starts"]
fn litellm_rate_limits_are_retried_then_fail_the_run() {
    let (url, key) = server();
    let test = project("rate-limited");
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "openai",
        "--base-url",
        &url,
        "--max-retries",
        "1",
        "--concurrency",
        "1",
    ]);
    let out = test.run_env(&args, &[("OPENAI_API_KEY", &key)]);
    out.code(3).stderr_has("429").stderr_has("after 2 attempts");
    assert!(!out.stderr.contains(&key));
}

#[test]
#[ignore = "needs the LiteLLM proxy that .ci/run starts"]
fn litellm_rejects_a_wrong_key_without_retrying() {
    let (url, _key) = server();
    let test = project("mock-model");
    let mut args = RUN.to_vec();
    args.extend([
        "--backend",
        "openai",
        "--base-url",
        &url,
        "--concurrency",
        "1",
    ]);
    let out = test.run_env(&args, &[("OPENAI_API_KEY", "sk-wrong-key-for-e2e")]);
    // LiteLLM without a database answers a key it cannot check with a 400, with a 401 when
    // it has one: either way a permanent refusal, tried once.
    out.code(3).stderr_has("HTTP 4").stderr_has("1 call failed");
    assert!(
        !out.stderr.contains("attempts)"),
        "a refusal is not retried: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("sk-wrong-key-for-e2e"));
}

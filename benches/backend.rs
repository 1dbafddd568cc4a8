//! Benchmark: 2,000 cases through the `openai` backend against a local server that answers
//! every request after 50 ms, at `--concurrency 100`. The floor is 20 rounds x 50 ms = 1.0 s;
//! the figure printed is promptgate's wall time (process start to exit) against it.
//!
//!     cargo bench --bench backend

use std::process::Command;
use std::time::{Duration, Instant};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CASES: usize = 2_000;
const CONCURRENCY: usize = 100;
const DELAY: Duration = Duration::from_millis(50);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(DELAY).set_body_json(
                serde_json::json!({
                    "model": "bench-model",
                    "choices": [{"message": {"role": "assistant", "content": "The answer is 42."}}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 5}
                }),
            ))
            .mount(&server),
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("golden")).unwrap();
    std::fs::create_dir_all(root.join("prompts")).unwrap();
    std::fs::create_dir_all(root.join("criteria")).unwrap();
    let golden: String = (0..CASES)
        .map(|i| format!("{{\"id\": \"case-{i:05}\", \"vars\": {{\"question\": \"What is 6 x 7? ({i})\"}}, \"expected\": \"42\"}}\n"))
        .collect();
    std::fs::write(root.join("golden/g.jsonl"), golden).unwrap();
    std::fs::write(
        root.join("prompts/p.toml"),
        "id = \"bench\"\n[model]\nname = \"bench-model\"\n[[messages]]\nrole = \"user\"\ncontent = \"{{ question }}\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_promptgate");
    let hash = Command::new(bin)
        .args(["golden", "golden/g.jsonl"])
        .current_dir(root)
        .output()
        .expect("promptgate runs");
    let hash = String::from_utf8_lossy(&hash.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    std::fs::write(
        root.join("criteria/c.toml"),
        format!(
            "version = 1\n[golden]\npath = \"../golden/g.jsonl\"\nsha256 = \"{hash}\"\n\
             [[scorers]]\ntype = \"numeric\"\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n"
        ),
    )
    .unwrap();

    let url = format!("{}/v1", server.uri());
    let concurrency = CONCURRENCY.to_string();
    let started = Instant::now();
    let run = Command::new(bin)
        .args([
            "run",
            "--prompt",
            "prompts/p.toml",
            "--criteria",
            "criteria/c.toml",
            "--backend",
            "openai",
            "--base-url",
            &url,
            "--concurrency",
            &concurrency,
            "--no-cache",
            "--no-progress",
            "--out",
            "runs",
        ])
        .current_dir(root)
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("promptgate runs");
    let wall = started.elapsed();
    let requests = runtime
        .block_on(server.received_requests())
        .map_or(0, |r| r.len());
    let floor = DELAY * (CASES / CONCURRENCY) as u32;
    println!(
        "promptgate backend benchmark: {CASES} cases, openai backend, server delay {} ms, concurrency {CONCURRENCY}",
        DELAY.as_millis()
    );
    println!("  requests served    {requests:>8}");
    println!(
        "  floor              {:>8.3} s ({} rounds x {} ms)",
        floor.as_secs_f64(),
        CASES / CONCURRENCY,
        DELAY.as_millis()
    );
    println!("  promptgate run     {:>8.3} s wall", wall.as_secs_f64());
    println!(
        "  ratio to floor     {:>8.3}   (target <= 1.15)",
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  exit code          {:>8}",
        run.status.code().unwrap_or(-1)
    );
    if !run.status.success() || requests != CASES {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        std::process::exit(1);
    }
}

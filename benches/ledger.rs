//! Benchmark: `status` and `rollback` on a ledger of 100,000 entries. Prints each command's
//! wall time (process start to exit, release build) against the 100 ms target: the first
//! command after a clone (no index yet), then the median of repeated runs (each rollback
//! appends an entry), then status after a checkout rewrote the file.
//!
//!     cargo bench --bench ledger

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use promptgate::ledger::{Action, Entry, Evidence};

const ENTRIES: u64 = 100_000;
/// Timed runs of each command once the index exists.
const RUNS: usize = 9;

fn main() {
    let bin = env!("CARGO_BIN_EXE_promptgate");
    let dir = tempfile::tempdir().expect("temp dir");
    // PROMPTGATE_BENCH_DIR keeps the generated project there, for profiling.
    let kept = std::env::var_os("PROMPTGATE_BENCH_DIR").map(std::path::PathBuf::from);
    let root = kept.as_deref().unwrap_or(dir.path());
    std::fs::create_dir_all(root.join("prompts")).unwrap();
    std::fs::write(
        root.join("promptgate.toml"),
        "[promotion]\nenvironments = [\"dev\", \"staging\", \"prod\"]\nledger = \"promptgate.ledger.jsonl\"\n",
    )
    .unwrap();
    // Two versions of one prompt, both in the store, alternating as live in every environment.
    let mut versions = Vec::new();
    for (i, text) in ["Be brief.", "Be thorough."].iter().enumerate() {
        let toml = format!(
            "id = \"bench\"\nowner = \"o@example.com\"\n[model]\nname = \"m\"\n[[messages]]\nrole = \"system\"\ncontent = \"{text}\"\n"
        );
        let path = root.join(format!("prompts/bench-{i}.toml"));
        std::fs::write(&path, &toml).unwrap();
        let version = promptgate::prompt::Prompt::load(&path).unwrap().version;
        let hex = version.strip_prefix("sha256:").unwrap().to_string();
        std::fs::create_dir_all(root.join(".promptgate/store")).unwrap();
        std::fs::write(root.join(format!(".promptgate/store/{hex}.toml")), &toml).unwrap();
        versions.push(version);
    }
    std::fs::remove_file(root.join("prompts/bench-1.toml")).unwrap();

    let started = Instant::now();
    let mut text = String::with_capacity(ENTRIES as usize * 600);
    let mut prev: Option<String> = None;
    let envs = ["dev", "staging", "prod"];
    for seq in 1..=ENTRIES {
        let env = envs[(seq % 3) as usize];
        let version = versions[((seq / 3) % 2) as usize].clone();
        let mut entry = Entry {
            seq,
            ts: "2026-11-26T12:00:00.000Z".into(),
            actor: format!("user{}@example.com", seq % 17),
            action: Action::Promote,
            prompt_id: "bench".into(),
            // Each environment's first promotion replaced nothing.
            previous_version: (seq > 3).then(|| versions[(((seq / 3) + 1) % 2) as usize].clone()),
            version,
            env: env.into(),
            percent: None,
            evidence: Some(Evidence {
                run_id: format!("20261126T120000000Z-{seq:06x}"),
                report_sha256: promptgate::digest::sha256_id(&seq.to_le_bytes()),
            }),
            approvals: vec![],
            reason: Some("benchmark".into()),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        prev = Some(entry.hash.clone());
        let _ = writeln!(text, "{}", serde_json::to_string(&entry).unwrap());
    }
    std::fs::write(root.join("promptgate.ledger.jsonl"), &text).unwrap();
    println!(
        "promptgate ledger benchmark: {ENTRIES} entries ({:.1} MB), generated in {:.2} s",
        text.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let time = |args: &[&str]| {
        let started = Instant::now();
        let out = Command::new(bin)
            .args(args)
            .current_dir(root)
            .output()
            .expect("promptgate runs");
        let wall = started.elapsed().as_secs_f64();
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        (wall, code)
    };
    let status = ["status"];
    let rollback = [
        "rollback",
        "bench",
        "--env",
        "prod",
        "--reason",
        "benchmark",
        "--actor",
        "bench@example.com",
    ];
    // The first command after a clone has no index: it reads the whole ledger and writes one.
    let (wall, code) = time(&status);
    println!("  status, first call (no index yet)  {wall:>7.3} s (exit {code})");
    for (label, args) in [("status", &status[..]), ("rollback", &rollback[..])] {
        let mut walls = Vec::new();
        let mut codes = BTreeSet::new();
        for _ in 0..RUNS {
            let (wall, code) = time(args);
            walls.push(wall);
            codes.insert(code);
        }
        walls.sort_by(f64::total_cmp);
        println!(
            "  {label:<33} {:>7.3} s median of {RUNS} (min {:.3}, max {:.3}; exit {codes:?})  target < 0.100 s",
            walls[RUNS / 2],
            walls[0],
            walls[RUNS - 1]
        );
    }
    // A checkout or pull rewrites the file: its metadata changes, so the next command checks
    // the fingerprint of the bytes the index covers (reading them all) before trusting it.
    let ledger = root.join("promptgate.ledger.jsonl");
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let bytes = std::fs::read(&ledger).unwrap();
        std::fs::write(&ledger, bytes).unwrap();
        walls.push(time(&status).0);
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "  status after a checkout           {:>7.3} s median of {RUNS} (min {:.3}, max {:.3})",
        walls[RUNS / 2],
        walls[0],
        walls[RUNS - 1]
    );
    let (wall, code) = time(&["ledger", "verify"]);
    println!("  ledger verify (every hash)        {wall:>7.3} s (exit {code})");
}

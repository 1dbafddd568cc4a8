//! Benchmark: 100,000 generated cases through `promptgate run` on the mock backend with
//! three scorers. Prints wall time and the child's peak memory (max RSS).
//!
//!     cargo bench --bench gate            # 100,000 cases
//!     cargo bench --bench gate -- 20000   # another size
//!
//! A figure printer, not a timed assertion: targets (under 2 s, under 200 MB) are checked by
//! reading the output.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const TOPICS: [(&str, &str); 4] = [
    ("refund", "Refunds reach your card within 5 business days."),
    ("shipping", "Standard shipping takes 3 to 5 business days."),
    (
        "password",
        "Use the Forgot password link on the sign-in page.",
    ),
    (
        "warranty",
        "The warranty covers manufacturing defects for 2 years.",
    ),
];

fn write_project(dir: &Path, cases: usize) -> String {
    let mut golden = String::with_capacity(cases * 200);
    for i in 0..cases {
        let (topic, answer) = TOPICS[i % TOPICS.len()];
        // Every 10th case expects something the mock never says, so the gate has failures
        // to report, as real runs do.
        let expected = if i % 10 == 0 {
            "Please contact a human agent."
        } else {
            answer
        };
        let _ = writeln!(
            golden,
            r#"{{"id": "case-{i:06}", "vars": {{"question": "Question {i} about my {topic}, order #{i}?"}}, "expected": "{expected}", "tags": ["{topic}"]}}"#
        );
    }
    std::fs::create_dir_all(dir.join("golden")).unwrap();
    std::fs::write(dir.join("golden/bench.jsonl"), golden).unwrap();

    // The candidate prompt says "terse"; on refund questions it answers worse.
    let mut rules = String::from(
        "[[rules]]\nmatch = '(?s)terse.*user: .*\\brefund\\b'\nresponse = \"Refunds happen eventually.\"\n\n",
    );
    for (topic, answer) in TOPICS {
        let _ = writeln!(
            rules,
            "[[rules]]\nmatch = '(?i)user: .*\\b{topic}\\b'\nresponse = \"{answer}\"\n"
        );
    }
    rules.push_str("[default]\nresponse = \"Sorry, I did not understand: {{ question }}\"\n");
    std::fs::write(dir.join("golden/bench.mock.toml"), rules).unwrap();

    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    std::fs::write(
        dir.join("prompts/bench.toml"),
        "id = \"bench\"\n[model]\nname = \"mock-model\"\n\n[[messages]]\nrole = \"system\"\n\
         content = \"You are a concise support assistant.\"\n\n[[messages]]\nrole = \"user\"\n\
         content = \"{{ question }}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("prompts/candidate.toml"),
        "id = \"bench\"\n[model]\nname = \"mock-model\"\n\n[[messages]]\nrole = \"system\"\n\
         content = \"You are a terse support assistant.\"\n\n[[messages]]\nrole = \"user\"\n\
         content = \"{{ question }}\"\n",
    )
    .unwrap();
    dir.join("criteria").to_string_lossy().into_owned()
}

fn promptgate(bin: &str, root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .current_dir(root)
        .output()
        .expect("promptgate runs")
}

fn main() {
    let cases: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let bin = env!("CARGO_BIN_EXE_promptgate");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();

    let started = Instant::now();
    write_project(root, cases);
    let generate = started.elapsed();

    let golden = Command::new(bin)
        .args(["golden", "golden/bench.jsonl"])
        .current_dir(root)
        .output()
        .expect("promptgate runs");
    let hash = String::from_utf8_lossy(&golden.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    std::fs::create_dir_all(root.join("criteria")).unwrap();
    std::fs::write(
        root.join("criteria/bench.toml"),
        format!(
            "version = 1\n[golden]\npath = \"../golden/bench.jsonl\"\nsha256 = \"{hash}\"\n\n\
             [[scorers]]\nname = \"no_flattery\"\ntype = \"not_contains\"\nvalues = [\"great idea\", \"absolutely right\"]\ncase_insensitive = true\n\n\
             [[scorers]]\nname = \"mentions_time\"\ntype = \"regex\"\npattern = \"\\\\d|link|years\"\n\n\
             [[scorers]]\nname = \"similarity\"\ntype = \"similarity\"\nmin = 0.6\n\n\
             [[gates]]\nmetric = \"pass_rate\"\nmin = 0.85\n\n[[gates]]\nmetric = \"mean:similarity\"\nmin = 0.5\n"
        ),
    )
    .unwrap();

    let started = Instant::now();
    let run = Command::new(bin)
        .args([
            "run",
            "--prompt",
            "prompts/bench.toml",
            "--criteria",
            "criteria/bench.toml",
            "--mock-rules",
            "golden/bench.mock.toml",
            "--out",
            "runs",
            "--no-progress",
        ])
        .current_dir(root)
        .output()
        .expect("promptgate runs");
    let wall = started.elapsed();
    let peak_kib = peak_child_rss_kib();

    let stdout = String::from_utf8_lossy(&run.stdout);
    let verdict = stdout
        .lines()
        .find(|l| l.starts_with("verdict:"))
        .unwrap_or("verdict: (none)");
    let calls = std::fs::read_dir(root.join("runs"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_to_string(e.path().join("calls.jsonl")).ok())
        .map_or(0, |t| t.lines().count());
    println!("promptgate gate benchmark: {cases} cases, mock backend, 3 scorers, concurrency 8");
    println!("  generate files     {:>8.3} s", generate.as_secs_f64());
    println!("  promptgate run     {:>8.3} s wall", wall.as_secs_f64());
    println!(
        "  peak memory        {:>8.1} MB (max RSS of the run)",
        peak_kib as f64 / 1024.0
    );
    println!("  calls.jsonl lines  {calls:>8}");
    println!(
        "  exit code          {:>8}   {verdict}",
        run.status.code().unwrap_or(-1)
    );
    if calls != cases {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        std::process::exit(1);
    }

    // A candidate run, then `compare` of the two run directories (bootstrap included).
    let candidate = promptgate(
        bin,
        root,
        &[
            "run",
            "--prompt",
            "prompts/candidate.toml",
            "--criteria",
            "criteria/bench.toml",
            "--mock-rules",
            "golden/bench.mock.toml",
            "--out",
            "runs",
            "--no-progress",
        ],
    );
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let started = Instant::now();
    let compare = promptgate(
        bin,
        root,
        &[
            "compare",
            "--baseline",
            dirs[0].to_str().unwrap(),
            "--candidate",
            dirs[1].to_str().unwrap(),
            "--criteria",
            "criteria/bench.toml",
        ],
    );
    let compare_wall = started.elapsed();
    let compare_out = String::from_utf8_lossy(&compare.stdout);
    println!(
        "  compare two runs   {:>8.3} s wall (candidate run exit {}, compare exit {}: {})",
        compare_wall.as_secs_f64(),
        candidate.status.code().unwrap_or(-1),
        compare.status.code().unwrap_or(-1),
        compare_out.lines().next().unwrap_or("")
    );
    if !matches!(compare.status.code(), Some(0 | 1)) {
        eprintln!("{}", String::from_utf8_lossy(&compare.stderr));
        std::process::exit(1);
    }
}

/// Peak resident set of the largest child waited for so far (Linux reports KiB).
fn peak_child_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    // SAFETY: rc == 0 means the struct was filled in.
    unsafe { usage.assume_init() }.ru_maxrss
}

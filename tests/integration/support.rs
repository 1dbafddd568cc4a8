//! The test harness: a small fluent builder in the spirit of `just`'s test suite.
//!
//! ```ignore
//! Test::project()                                  // a valid prompt, golden set, criteria
//!     .file("golden/rules.toml", RULES)            // more files, relative to the tempdir
//!     .args(&["run", "--prompt", "prompts/p.toml", "--criteria", "criteria/c.toml"])
//!     .run()                                       // the real binary, cwd = the tempdir
//!     .code(0)
//!     .stdout_has("verdict: PASS");
//! ```
//!
//! Every invocation runs the `promptgate` binary Cargo built for this package, with
//! `NO_COLOR=1`, `RUST_BACKTRACE` unset, and `--no-progress` appended to `run`.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// The standard prompt: `id = "demo"`, one system and one user message reading `question`.
pub const PROMPT: &str = r#"id = "demo"
owner = "team@example.com"
description = "A test prompt"
sensitive = false
review_by = "2030-01-01"

[model]
name = "mock-model"
temperature = 0.0
max_tokens = 100
seed = 1

[[messages]]
role = "system"
content = "Answer briefly."

[[messages]]
role = "user"
content = "{{ question }}"
"#;

/// The standard golden set: three cases; the echo mock repeats the question, which
/// contains the expected text, so every case passes.
pub const GOLDEN: &str = r#"{"id": "greet-001", "vars": {"question": "Say hello"}, "expected": "hello", "tags": ["greeting"]}
{"id": "greet-002", "vars": {"question": "Say hello again"}, "expected": "hello", "tags": ["greeting"]}
{"id": "math-001", "vars": {"question": "What is 2+2? It is 4"}, "expected": "4", "tags": ["math"]}
"#;

pub const GOLDEN_CASES: [&str; 3] = ["greet-001", "greet-002", "math-001"];

/// The standard criteria body (after `version` and `[golden]`): one scorer, one gate.
pub const CRITERIA_BODY: &str = r#"
[[scorers]]
name = "mentions_expected"
type = "contains"
case_insensitive = true

[[gates]]
metric = "pass_rate"
min = 1.0
"#;

pub const PROMPT_PATH: &str = "prompts/p.toml";
pub const GOLDEN_PATH: &str = "golden/g.jsonl";
pub const CRITERIA_PATH: &str = "criteria/c.toml";

/// `run --prompt prompts/p.toml --criteria criteria/c.toml`.
pub const RUN: [&str; 5] = ["run", "--prompt", PROMPT_PATH, "--criteria", CRITERIA_PATH];

/// A scratch project in a tempdir, and the command to run in it.
pub struct Test {
    /// Shared with every `Output`, so a run directory outlives a temporary `Test`.
    dir: Rc<TempDir>,
    /// Working directory, relative to the tempdir.
    cwd: PathBuf,
    args: Vec<String>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    /// An empty tempdir.
    pub fn new() -> Test {
        Test {
            dir: Rc::new(
                tempfile::Builder::new()
                    .prefix("promptgate-it-")
                    .tempdir()
                    .expect("create tempdir"),
            ),
            cwd: PathBuf::new(),
            args: Vec::new(),
        }
    }

    /// The standard valid project: `prompts/p.toml`, `golden/g.jsonl` and
    /// `criteria/c.toml` pinned to the golden set's hash. No promptgate.toml, so the
    /// mock echoes the last user message.
    pub fn project() -> Test {
        Test::new()
            .file(PROMPT_PATH, PROMPT)
            .file(GOLDEN_PATH, GOLDEN)
            .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY)
    }

    /// Writes a file (creating folders); `contents` may be any bytes.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Test {
        self.write(path, contents);
        self
    }

    /// Writes a file after construction (for edits between runs).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).expect("create folders");
        }
        fs::write(&full, contents).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
    }

    /// Creates an empty folder.
    pub fn dir(self, path: &str) -> Test {
        fs::create_dir_all(self.path().join(path)).expect("create folder");
        self
    }

    pub fn read(&self, path: &str) -> String {
        let full = self.path().join(path);
        fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
    }

    /// The tempdir (the project root unless a test says otherwise).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a criteria file pinned to the current hash of its golden set, which must
    /// already be written. `golden` is relative to the criteria file's folder, as in the
    /// file itself; `body` is laid out as `criteria_text` says.
    pub fn criteria(self, path: &str, golden: &str, body: &str) -> Test {
        let golden_file = normalize(
            &Path::new(path)
                .parent()
                .unwrap_or(Path::new(""))
                .join(golden),
        );
        let hash = self.golden_hash(golden_file.to_str().expect("utf-8 path"));
        let text = criteria_text(golden, &hash, body);
        self.file(path, text)
    }

    /// What `promptgate golden FILE` prints on its first line (asserting it succeeds).
    pub fn golden_hash(&self, path: &str) -> String {
        let out = self.run_with(&["golden", path]).code(0).clone();
        let hash = out.stdout.lines().next().unwrap_or_default().to_string();
        assert_sha256_id(&hash);
        hash
    }

    /// What `promptgate hash FILE` prints on its first line (asserting it succeeds).
    pub fn prompt_version(&self, path: &str) -> String {
        let out = self.run_with(&["hash", path]).code(0).clone();
        let version = out.stdout.lines().next().unwrap_or_default().to_string();
        assert_sha256_id(&version);
        version
    }

    /// Runs later commands from this folder (relative to the tempdir; created if needed).
    pub fn current_dir(mut self, path: &str) -> Test {
        fs::create_dir_all(self.path().join(path)).expect("create working folder");
        self.cwd = PathBuf::from(path);
        self
    }

    /// The arguments `run()` passes.
    pub fn args(mut self, args: &[&str]) -> Test {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Runs the binary with the arguments given to `args`.
    pub fn run(&self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.run_with(&args)
    }

    /// Runs the binary with these arguments (`--no-progress` is appended to `run`) and
    /// waits for it, for at most a minute.
    pub fn run_with(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// `run_with`, with extra environment variables (an API key, a base URL).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        let output = assert_cmd::Command::from_std(command)
            .timeout(Duration::from_secs(60))
            .output()
            .expect("spawn promptgate");
        Output {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            cwd: self.path().join(&self.cwd),
            _dir: Rc::clone(&self.dir),
        }
    }

    /// The command `run_with` runs, for tests that must spawn it themselves: the
    /// package's `promptgate` binary, in the working folder, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("promptgate"));
        cmd.current_dir(self.path().join(&self.cwd))
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .args(args);
        if args.first() == Some(&"run") {
            cmd.arg("--no-progress");
        }
        cmd
    }

    /// Run directories directly under `out` (relative to the tempdir), sorted.
    pub fn run_dirs(&self, out: &str) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.path().join(out)) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries
            .map(|e| e.expect("read_dir entry").path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs
    }

    /// Asserts that no run under `out` made a call: a refused run leaves no calls.jsonl
    /// lines behind (whether or not it created a run directory).
    #[track_caller]
    pub fn assert_no_calls(&self, out: &str) {
        for dir in self.run_dirs(out) {
            let calls = fs::read_to_string(dir.join("calls.jsonl")).unwrap_or_default();
            assert!(
                calls.trim().is_empty(),
                "a refused run made calls: {}",
                dir.display()
            );
        }
    }

    /// Copies files and folders from `from` (e.g. the package root) into the tempdir.
    pub fn copy_from(self, from: &Path, entries: &[&str]) -> Test {
        for entry in entries {
            copy_recursively(&from.join(entry), &self.path().join(entry));
        }
        self
    }
}

/// Folds `dir/..` away without touching the file system (the folder may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn copy_recursively(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("create folder");
        for entry in fs::read_dir(from).expect("read folder") {
            let entry = entry.expect("folder entry");
            copy_recursively(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// A criteria file's text: `version = 1`, then `body` (which may start with top-level keys
/// such as `must_pass`), then the `[golden]` pin.
pub fn criteria_text(golden: &str, hash: &str, body: &str) -> String {
    format!(
        "version = 1\ndescription = \"test criteria\"\n{body}\n[golden]\npath = \"{golden}\"\nsha256 = \"{hash}\"\n"
    )
}

/// `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_id(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

pub fn assert_sha256_id(text: &str) {
    assert!(is_sha256_id(text), "not a sha256 id: {text:?}");
}

/// One finished invocation.
#[derive(Clone, Debug)]
pub struct Output {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Absolute working directory of the invocation.
    pub cwd: PathBuf,
    /// Keeps the tempdir alive while the output is inspected.
    _dir: Rc<TempDir>,
}

impl Output {
    fn dump(&self) -> String {
        format!(
            "promptgate {}\n--- exit code: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// Asserts the exit code, and that nothing panicked.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Output {
        assert_eq!(self.code, expected, "wrong exit code\n{}", self.dump());
        self.no_panic()
    }

    #[track_caller]
    pub fn no_panic(&self) -> &Output {
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains("panicked") && !text.to_lowercase().contains("backtrace"),
                "the process panicked\n{}",
                self.dump()
            );
        }
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Output {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Output {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Output {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Asserts an input or usage error: exit 2, nothing on stdout, and stderr exactly one
    /// line starting with `error: ` that contains every needle. Returns that line.
    #[track_caller]
    pub fn input_error(&self, needles: &[&str]) -> String {
        self.code(2);
        assert!(
            self.stdout.trim().is_empty(),
            "an input error printed to stdout\n{}",
            self.dump()
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "stderr is not exactly one `error: ` line\n{}",
            self.dump()
        );
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "the error line lacks {needle:?}\n{}",
                self.dump()
            );
        }
        lines[0].to_string()
    }

    /// The run directory the summary names (`run directory: ...`), loaded.
    #[track_caller]
    pub fn run_dir(&self) -> RunDir {
        let shown = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("run directory: "))
            .unwrap_or_else(|| panic!("stdout names no run directory\n{}", self.dump()));
        RunDir::load(&self.cwd.join(shown.trim()))
    }
}

/// A run directory's three files, parsed.
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
    pub manifest: Value,
    pub report: Value,
    pub calls: Vec<Value>,
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

impl RunDir {
    #[track_caller]
    pub fn load(path: &Path) -> RunDir {
        assert!(path.is_dir(), "no run directory at {}", path.display());
        let calls_path = path.join("calls.jsonl");
        let calls_text = fs::read_to_string(&calls_path)
            .unwrap_or_else(|e| panic!("read {}: {e}", calls_path.display()));
        let calls = calls_text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("calls.jsonl line {} is not JSON: {e}", i + 1))
            })
            .collect();
        RunDir {
            path: path.to_path_buf(),
            manifest: read_json(&path.join("manifest.json")),
            report: read_json(&path.join("report.json")),
            calls,
        }
    }

    /// The calls.jsonl line of one (case, repeat).
    #[track_caller]
    pub fn call(&self, case_id: &str, repeat: u64) -> &Value {
        let mut found = self
            .calls
            .iter()
            .filter(|c| c["case_id"] == case_id && c["repeat"] == repeat);
        let call = found
            .next()
            .unwrap_or_else(|| panic!("no call for {case_id} #{repeat} in {:#?}", self.calls));
        assert!(found.next().is_none(), "two calls for {case_id} #{repeat}");
        call
    }

    /// One scorer's result on a case's first repeat: `{score, passed, reason}`.
    #[track_caller]
    pub fn score(&self, case_id: &str, scorer: &str) -> &Value {
        let call = self.call(case_id, 0);
        let score = &call["scores"][scorer];
        assert!(
            score.is_object(),
            "case {case_id} has no score {scorer:?}: {call:#}"
        );
        score
    }

    /// Whether a scorer passed on a case's first repeat.
    #[track_caller]
    pub fn passed(&self, case_id: &str, scorer: &str) -> bool {
        self.score(case_id, scorer)["passed"]
            .as_bool()
            .expect("`passed` is a boolean")
    }

    /// The report.json gate entry for `metric` (and `tag`).
    #[track_caller]
    pub fn gate(&self, metric: &str, tag: Option<&str>) -> &Value {
        let gates = self.report["gates"].as_array().expect("report gates array");
        gates
            .iter()
            .find(|g| g["metric"] == metric && g["tag"].as_str() == tag)
            .unwrap_or_else(|| panic!("no gate {metric} {tag:?} in {gates:#?}"))
    }

    /// The set of case ids in calls.jsonl.
    pub fn case_ids(&self) -> BTreeSet<String> {
        self.calls
            .iter()
            .map(|c| c["case_id"].as_str().expect("case_id string").to_string())
            .collect()
    }
}

/// Asserts two floats are within 1e-9.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} is not {expected}"
    );
}

/// A project of `n` cases whose expected text is in the question, so an echo passes.
pub fn numbered_project(n: usize) -> Test {
    let golden: String = (0..n)
        .map(|i| format!("{{\"id\": \"case-{i:03}\", \"vars\": {{\"question\": \"the answer is {i}\"}}, \"expected\": \"answer is {i}\"}}\n"))
        .collect();
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY)
}

/// Every file below `dir`, for tests that grep a whole project (for a key, say).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("read_dir entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

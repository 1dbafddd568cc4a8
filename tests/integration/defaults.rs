//! promptgate.toml: project defaults found from the working directory upward; flags
//! override them; manifest paths are relative to the folder holding it.

use crate::support::{CRITERIA_PATH, GOLDEN_PATH, PROMPT_PATH, RUN, Test};

const RULES_A: &str = "[default]\nresponse = \"from rules a: {{ question }}\"\n";
const RULES_B: &str = "[default]\nresponse = \"from rules b: {{ question }}\"\n";

const CONFIG: &str = r#"[backend]
kind = "mock"
mock_rules = "mock/a.toml"

[run]
out = "artifacts/runs"
concurrency = 3
"#;

fn configured() -> Test {
    Test::project()
        .file("mock/a.toml", RULES_A)
        .file("mock/b.toml", RULES_B)
        .file("promptgate.toml", CONFIG)
}

#[test]
fn mock_rules_come_from_promptgate_toml() {
    let out = configured().run_with(&RUN);
    out.code(0);
    let run = out.run_dir();
    assert_eq!(
        run.call("greet-001", 0)["output"],
        "from rules a: Say hello"
    );
    assert_eq!(run.manifest["backend"]["kind"], "mock");
    assert_eq!(run.manifest["backend"]["mock_rules"], "mock/a.toml");
}

#[test]
fn mock_rules_flag_overrides_promptgate_toml() {
    let mut args = RUN.to_vec();
    args.extend(["--mock-rules", "mock/b.toml"]);
    let out = configured().run_with(&args);
    out.code(0);
    let run = out.run_dir();
    assert_eq!(
        run.call("greet-001", 0)["output"],
        "from rules b: Say hello"
    );
    assert_eq!(run.manifest["backend"]["mock_rules"], "mock/b.toml");
}

#[test]
fn without_rules_the_mock_echoes() {
    let out = Test::project().run_with(&RUN);
    out.code(0);
    let run = out.run_dir();
    assert_eq!(run.call("greet-001", 0)["output"], "Say hello");
}

#[test]
fn out_and_concurrency_come_from_promptgate_toml() {
    let test = configured();
    let out = test.run_with(&RUN);
    out.code(0);
    let run = out.run_dir();
    assert!(
        run.path.starts_with(test.path().join("artifacts/runs")),
        "{}",
        run.path.display()
    );
    assert_eq!(test.run_dirs("artifacts/runs").len(), 1);
    assert!(test.run_dirs(".promptgate/runs").is_empty());
    assert_eq!(run.manifest["concurrency"], 3);
}

#[test]
fn flags_override_out_and_concurrency() {
    let test = configured();
    let mut args = RUN.to_vec();
    args.extend(["--out", "elsewhere", "--concurrency", "2"]);
    let out = test.run_with(&args);
    out.code(0);
    let run = out.run_dir();
    assert!(
        run.path.starts_with(test.path().join("elsewhere")),
        "{}",
        run.path.display()
    );
    assert!(test.run_dirs("artifacts/runs").is_empty());
    assert_eq!(run.manifest["concurrency"], 2);
}

#[test]
fn run_from_a_subdirectory_finds_promptgate_toml_upward() {
    let test = configured().current_dir("work/deeper");
    let out = test.run_with(&[
        "run",
        "--prompt",
        "../../prompts/p.toml",
        "--criteria",
        "../../criteria/c.toml",
    ]);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    // promptgate.toml's mock rules (relative to the project root) answered ...
    assert_eq!(
        run.call("greet-001", 0)["output"],
        "from rules a: Say hello"
    );
    // ... its out folder is under the project root, not the working directory ...
    assert!(
        run.path.starts_with(test.path().join("artifacts/runs")),
        "{}",
        run.path.display()
    );
    assert!(!test.path().join("work/deeper/artifacts").exists());
    // ... and every manifest path is relative to the project root.
    let m = &run.manifest;
    assert_eq!(m["prompt"]["path"], PROMPT_PATH);
    assert_eq!(m["golden"]["path"], GOLDEN_PATH);
    assert_eq!(m["criteria"]["path"], CRITERIA_PATH);
    assert_eq!(m["backend"]["mock_rules"], "mock/a.toml");
}

#[test]
fn run_from_a_subdirectory_without_out_uses_the_root_default() {
    let test = Test::project()
        .file("promptgate.toml", "[backend]\nkind = \"mock\"\n")
        .current_dir("sub");
    let out = test.run_with(&[
        "run",
        "--prompt",
        "../prompts/p.toml",
        "--criteria",
        "../criteria/c.toml",
    ]);
    out.code(0);
    let run = out.run_dir();
    assert!(
        run.path.starts_with(test.path().join(".promptgate/runs")),
        "{}",
        run.path.display()
    );
    assert!(!test.path().join("sub/.promptgate").exists());
    assert_eq!(run.manifest["prompt"]["path"], PROMPT_PATH);
}

#[test]
fn out_flag_is_relative_to_the_working_directory() {
    let test = configured().current_dir("sub");
    let out = test.run_with(&[
        "run",
        "--prompt",
        "../prompts/p.toml",
        "--criteria",
        "../criteria/c.toml",
        "--out",
        "here",
    ]);
    out.code(0);
    let run = out.run_dir();
    assert!(
        run.path.starts_with(test.path().join("sub/here")),
        "{}",
        run.path.display()
    );
}

#[test]
fn unknown_key_in_promptgate_toml_is_an_input_error() {
    let test = Test::project().file("promptgate.toml", "[run]\nconcurency = 4\n");
    test.run_with(&RUN)
        .input_error(&["promptgate.toml:2:", "concurency"]);
}

#[test]
fn unknown_backend_kind_in_promptgate_toml_is_an_input_error() {
    let test = Test::project().file("promptgate.toml", "[backend]\nkind = \"carrier-pigeon\"\n");
    test.run_with(&RUN)
        .input_error(&["promptgate.toml", "carrier-pigeon"]);
}

#[test]
fn zero_concurrency_in_promptgate_toml_is_an_input_error() {
    let test = Test::project().file("promptgate.toml", "[run]\nconcurrency = 0\n");
    test.run_with(&RUN)
        .input_error(&["promptgate.toml", "concurrency"]);
}

#[test]
fn missing_mock_rules_named_by_promptgate_toml_is_an_input_error() {
    let test = Test::project().file(
        "promptgate.toml",
        "[backend]\nmock_rules = \"mock/nope.toml\"\n",
    );
    test.run_with(&RUN).input_error(&["mock/nope.toml"]);
}

//! What a hostile trial tried: inputs and outputs crafted to reach a spreadsheet, a
//! terminal, a CI log or the file system. Each is refused (exit 2) or defused.

use crate::support::{
    CRITERIA_BODY, CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test, criteria_text,
};

/// The standard project with one golden case whose question (echoed by the mock, which
/// must contain `x` to pass) is `question`.
fn echoing(question: &str) -> Test {
    let case = serde_json::json!({"id": "q-001", "vars": {"question": question}, "expected": "x"});
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, format!("{case}\n"))
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY)
}

#[test]
fn a_model_output_cannot_become_a_spreadsheet_formula() {
    let formula = r#"=HYPERLINK("http://evil.example/","x")"#;
    let t = echoing(formula);
    let mut args = RUN.to_vec();
    args.extend(["--report", "csv=out.csv"]);
    t.run_with(&args).code(0);
    let csv = t.read("out.csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "output")
        .unwrap();
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[column], format!("'{formula}"));
}

#[test]
fn case_ids_with_control_characters_are_refused() {
    for id in ["a\n::error::forged", "a\u{1b}[2Jb", "tab\there"] {
        let case = serde_json::json!({"id": id, "vars": {"question": "x"}, "expected": "x"});
        let hash = format!("sha256:{}", "0".repeat(64));
        let t = Test::new()
            .file(PROMPT_PATH, PROMPT)
            .file(GOLDEN_PATH, format!("{case}\n"))
            .file(
                CRITERIA_PATH,
                criteria_text("../golden/g.jsonl", &hash, CRITERIA_BODY),
            );
        t.run_with(&RUN)
            .input_error(&["g.jsonl:1:", "control character"]);
    }
}

/// A failing output quoted in a reason reaches the terminal as one line, without escapes.
#[test]
fn untrusted_text_never_reaches_the_terminal_raw() {
    let criteria = "\n[[scorers]]\nname = \"exact\"\ntype = \"exact\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n";
    let case = serde_json::json!({"id": "q-001", "vars": {"question": "ok\n::error file=x::forged\u{1b}[31m"}, "expected": "something else"});
    let t = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, format!("{case}\n"))
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", criteria);
    let out = t.run_with(&RUN);
    out.code(1);
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("::error")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_device_or_fifo_is_refused_not_read() {
    let t = Test::project();
    let hash = t.golden_hash(GOLDEN_PATH);
    t.write(
        "criteria/zero.toml",
        criteria_text("/dev/zero", &hash, CRITERIA_BODY),
    );
    t.run_with(&[
        "run",
        "--prompt",
        PROMPT_PATH,
        "--criteria",
        "criteria/zero.toml",
    ])
    .input_error(&["/dev/zero", "not a regular file"]);

    let fifo = t.path().join("prompts/fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    t.run_with(&[
        "run",
        "--prompt",
        "prompts/fifo.toml",
        "--criteria",
        CRITERIA_PATH,
    ])
    .input_error(&["fifo.toml", "not a regular file"]);
    t.run_with(&["hash", "prompts"])
        .input_error(&["prompts", "a directory"]);
}

#[test]
fn an_overlong_golden_line_is_refused() {
    let t = Test::project();
    let long = format!(
        "{{\"id\": \"big\", \"vars\": {{\"question\": \"{}\"}}}}\n",
        "x".repeat(65 * 1024 * 1024)
    );
    t.write("golden/big.jsonl", long);
    t.run_with(&["golden", "golden/big.jsonl"])
        .input_error(&["big.jsonl:1:", "longer than 64 MiB"]);
}

/// Each of these used to surface late (after every call) or not at all.
#[test]
fn bad_output_paths_are_refused_before_any_call() {
    let t = Test::project().dir("reports");
    fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&RUN[..], extra].concat()
    }
    t.run_with(&with(&["--report", "md=r.md", "--report", "html=r.md"]))
        .input_error(&["r.md", "same file"]);
    t.run_with(&with(&["--report", "md", "--report", "md"]))
        .input_error(&["md is given twice"]);
    t.run_with(&with(&["--report", "md=reports"]))
        .input_error(&["reports", "a folder"]);
    t.write("taken", "a file");
    t.run_with(&with(&["--out", "taken/runs"]))
        .input_error(&["taken", "is a file"]);
    t.assert_no_calls(".promptgate/runs");

    let odd = Test::project().dir("promptgate.toml");
    odd.run_with(&RUN)
        .input_error(&["promptgate.toml", "not a regular file"]);
}

#[test]
fn a_comma_list_of_formats_writes_each_and_says_where() {
    let t = Test::project();
    let out = t.run_with(&[&RUN[..], &["--report", "md,html,junit"]].concat());
    out.code(0);
    let dir = out.run_dir().path;
    for (name, file) in [
        ("md", "report.md"),
        ("html", "report.html"),
        ("junit", "report.xml"),
    ] {
        assert!(dir.join(file).is_file(), "{file}");
        out.stdout_has(&format!("{name} report: "));
    }
}

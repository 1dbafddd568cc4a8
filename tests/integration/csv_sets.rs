//! CSV golden sets: columns `id`, `expected`, `tags` (`;`-separated); every other column
//! is a variable.

use crate::support::{CRITERIA_PATH, PROMPT, PROMPT_PATH, RUN, Test};

const CSV: &str = "id,question,expected,tags\r\n\
greet-001,Say hello,hello,greeting\r\n\
greet-002,\"Hello, with a comma\",hello,greeting;polite\r\n\
math-001,\"Two lines:\nthe answer is 4\",4,math\r\n\
math-002,What is 3+3? 6,6,\r\n";

const BODY: &str = r#"
[[scorers]]
name = "mentions_expected"
type = "contains"
case_insensitive = true

[[gates]]
metric = "pass_rate"
min = 1.0

[[gates]]
metric = "pass_rate"
tag = "polite"
min = 1.0
"#;

fn csv_project() -> Test {
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file("golden/g.csv", CSV)
        .criteria(CRITERIA_PATH, "../golden/g.csv", BODY)
}

#[test]
fn golden_command_reads_csv() {
    let test = csv_project();
    let out = test.run_with(&["golden", "golden/g.csv"]);
    out.code(0).stdout_has("cases: 4");
}

#[test]
fn csv_golden_set_runs_end_to_end() {
    let test = csv_project();
    let out = test.run_with(&RUN);
    out.code(0).stdout_has("verdict: PASS");
    let run = out.run_dir();
    assert_eq!(run.manifest["golden"]["path"], "golden/g.csv");
    assert_eq!(run.manifest["golden"]["cases"], 4);
    assert_eq!(
        run.manifest["golden"]["hash"],
        test.golden_hash("golden/g.csv").as_str()
    );
    assert_eq!(
        run.case_ids().into_iter().collect::<Vec<_>>(),
        ["greet-001", "greet-002", "math-001", "math-002"]
    );
    // Quoted fields keep their commas and newlines; the echo mock returns the question.
    assert_eq!(run.call("greet-002", 0)["output"], "Hello, with a comma");
    assert_eq!(
        run.call("math-001", 0)["output"],
        "Two lines:\nthe answer is 4"
    );
    for call in &run.calls {
        assert_eq!(
            call["scores"]["mentions_expected"]["passed"], true,
            "{call:#}"
        );
    }
    // `tags` is split on ';': greet-002 alone is in the `polite` slice.
    let polite = run.gate("pass_rate", Some("polite"));
    assert_eq!(polite["passed"], true);
    assert_eq!(polite["value"], 1.0);
}

#[test]
fn csv_expected_column_is_compared() {
    // A row whose expected text is absent from the output fails the run.
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(
            "golden/g.csv",
            "id,question,expected,tags\na,Say hello,hello,polite\nb,Say goodbye,hello,polite\n",
        )
        .criteria(CRITERIA_PATH, "../golden/g.csv", BODY);
    let out = test.run_with(&RUN);
    out.code(1)
        .stdout_has("verdict: FAIL")
        .stdout_has("golden/g.csv:3");
    let run = out.run_dir();
    assert_eq!(
        run.call("b", 0)["scores"]["mentions_expected"]["passed"],
        false
    );
    assert_eq!(run.gate("pass_rate", Some("polite"))["value"], 0.5);
}

#[test]
fn csv_and_jsonl_with_the_same_cases_have_the_same_hash() {
    // The golden hash covers the parsed cases, not the file format.
    let test = Test::new()
        .file("a.csv", "id,question,expected,tags\nx,hi,e,t;u\n")
        .file(
            "a.jsonl",
            "{\"id\": \"x\", \"vars\": {\"question\": \"hi\"}, \"expected\": \"e\", \"tags\": [\"t\", \"u\"]}\n",
        );
    assert_eq!(test.golden_hash("a.csv"), test.golden_hash("a.jsonl"));
}

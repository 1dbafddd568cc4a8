//! What a hostile trial tried: inputs and outputs crafted to reach a spreadsheet, a
//! terminal, a CI log or the file system. Each is refused (exit 2) or defused.

use crate::support::{CRITERIA_BODY, CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test};

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

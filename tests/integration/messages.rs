//! What promptgate tells a person, where the words decide whether they can act on it.

use crate::support::{
    CRITERIA_PATH, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test, numbered_project,
};

#[test]
fn a_failed_confidence_gate_says_which_end_of_the_interval_failed() {
    let t = numbered_project(20).criteria(
        CRITERIA_PATH,
        "../golden/g.jsonl",
        "[[scorers]]\ntype = \"contains\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmin = 0.9\nconfidence = 0.95\n",
    );
    t.run_with(&RUN)
        .code(1)
        .stdout_has("95% CI [0.839, 1.000], tested, lower 0.839 < 0.9");
}

#[test]
fn a_criteria_file_without_the_golden_hash_says_how_to_get_it() {
    let t = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, "{\"id\": \"a\", \"vars\": {\"question\": \"x\"}, \"expected\": \"x\"}\n")
        .file(
            CRITERIA_PATH,
            "version = 1\n\n[golden]\npath = \"../golden/g.jsonl\"\n\n[[scorers]]\ntype = \"contains\"\n",
        );
    t.run_with(&RUN)
        .input_error(&["c.toml", "sha256", "promptgate golden"]);
}

#[test]
fn a_csv_column_in_the_wrong_case_is_named() {
    let t = Test::new().file("golden/g.csv", "ID,question\na,x\n");
    t.run_with(&["golden", "golden/g.csv"]).input_error(&[
        "g.csv:1:",
        "\"ID\"",
        "rename it to `id`",
    ]);
    let t = Test::new().file("golden/g.csv", "id,question,Expected\na,x,y\n");
    t.run_with(&["golden", "golden/g.csv"])
        .input_error(&["\"Expected\"", "rename it to `expected`"]);
}

#[test]
fn a_tag_on_every_case_is_warned_about() {
    let t = Test::project().criteria(
        CRITERIA_PATH,
        "../golden/g.jsonl",
        "[[scorers]]\ntype = \"contains\"\ncase_insensitive = true\n\n[[gates]]\nmetric = \"pass_rate\"\ntag = \"greeting\"\nmin = 1.0\n",
    );
    let out = t.run_with(&RUN);
    out.code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let all_tagged = (0..3)
        .map(|i| format!("{{\"id\": \"c{i}\", \"vars\": {{\"question\": \"hello\"}}, \"expected\": \"hello\", \"tags\": [\"greeting\"]}}\n"))
        .collect::<String>();
    let t = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, all_tagged)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            "[[scorers]]\ntype = \"contains\"\n\n[[gates]]\nmetric = \"pass_rate\"\ntag = \"greeting\"\nmin = 1.0\n",
        );
    t.run_with(&RUN)
        .code(0)
        .stderr_has("every case is tagged \"greeting\"");
}

#[test]
fn regressions_with_repeats_name_the_repeat() {
    let t = Test::project()
        .file(
            "prompts/candidate.toml",
            PROMPT.replace("Answer briefly.", "Answer terse."),
        )
        .file(
            "golden/rules.toml",
            "[[rules]]\nmatch = '(?s)terse.*2\\+2'\nresponse = 'no idea'\n",
        );
    let out = t.run_with(&[
        "compare",
        "--baseline",
        PROMPT_PATH,
        "--candidate",
        "prompts/candidate.toml",
        "--criteria",
        CRITERIA_PATH,
        "--mock-rules",
        "golden/rules.toml",
        "--repeat",
        "2",
        "--no-progress",
    ]);
    out.code(1)
        .stdout_has("math-001 #0")
        .stdout_has("math-001 #1");
}

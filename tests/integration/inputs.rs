//! Every malformed input is exit 2 with exactly one `error: ` line on stderr naming the
//! file (and the line and case where there is one), before any call is made.

use crate::support::{
    CRITERIA_BODY, CRITERIA_PATH, GOLDEN, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test,
    criteria_text,
};

const ZERO_PIN: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const RULES_PATH: &str = "golden/rules.toml";

/// The standard prompt and criteria (pinned to a dummy hash) around a golden set that
/// cannot be hashed.
fn with_bad_golden(content: impl AsRef<[u8]>) -> Test {
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, content)
        .file(
            CRITERIA_PATH,
            criteria_text("../golden/g.jsonl", ZERO_PIN, CRITERIA_BODY),
        )
}

/// The standard project with a criteria body of its own (pinned to the real hash).
fn with_criteria_body(body: &str) -> Test {
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, GOLDEN)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", body)
}

/// 1-based line of the first line of `text` equal to `line`.
#[track_caller]
fn line_of(text: &str, line: &str) -> usize {
    text.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} is not a line of\n{text}"))
        + 1
}

/// `run` must fail with an input error mentioning every needle, and make no call.
#[track_caller]
fn rejects(test: &Test, args: &[&str], needles: &[&str]) -> String {
    let line = test.run_with(args).input_error(needles);
    test.assert_no_calls(".promptgate/runs");
    line
}

fn run_with_rules() -> Vec<&'static str> {
    let mut args = RUN.to_vec();
    args.extend(["--mock-rules", RULES_PATH]);
    args
}

// ---------------------------------------------------------------------------------------
// TOML files

#[test]
fn toml_syntax_error_in_the_prompt() {
    let prompt = PROMPT.replacen("[model]", "[model", 1);
    let line = line_of(&prompt, "[model");
    let test = Test::project().file(PROMPT_PATH, &prompt);
    rejects(&test, &RUN, &[&format!("prompts/p.toml:{line}:")]);
}

#[test]
fn toml_syntax_error_in_the_criteria() {
    let test = Test::project();
    let text = format!(
        "{}\n[[gates]\nmetric = \"pass_rate\"\n",
        test.read(CRITERIA_PATH)
    );
    let line = line_of(&text, "[[gates]");
    test.write(CRITERIA_PATH, &text);
    rejects(&test, &RUN, &[&format!("criteria/c.toml:{line}:")]);
}

#[test]
fn toml_syntax_error_in_the_mock_rules() {
    let test = Test::project().file(
        RULES_PATH,
        "[[rules]]\nmatch = 'hello'\nresponse = \"unterminated\n",
    );
    rejects(&test, &run_with_rules(), &["golden/rules.toml:3:"]);
}

#[test]
fn unknown_field_in_the_prompt() {
    let prompt = PROMPT.replacen("owner =", "colour = \"red\"\nowner =", 1);
    let line = line_of(&prompt, "colour = \"red\"");
    let test = Test::project().file(PROMPT_PATH, &prompt);
    rejects(&test, &RUN, &[&format!("prompts/p.toml:{line}:"), "colour"]);
}

#[test]
fn unknown_field_in_the_prompt_model() {
    let prompt = PROMPT.replacen("seed = 1", "seed = 1\ntemprature = 0.5", 1);
    let line = line_of(&prompt, "temprature = 0.5");
    let test = Test::project().file(PROMPT_PATH, &prompt);
    rejects(
        &test,
        &RUN,
        &[&format!("prompts/p.toml:{line}:"), "temprature"],
    );
}

#[test]
fn unknown_message_role() {
    let prompt = PROMPT.replacen("role = \"system\"", "role = \"robot\"", 1);
    let test = Test::project().file(PROMPT_PATH, &prompt);
    rejects(&test, &RUN, &["prompts/p.toml:", "robot"]);
}

#[test]
fn template_syntax_error_in_the_prompt() {
    let prompt = PROMPT.replacen("{{ question }}", "{{ question", 1);
    let test = Test::project().file(PROMPT_PATH, &prompt);
    rejects(&test, &RUN, &["prompts/p.toml"]);
}

#[test]
fn unknown_field_in_the_criteria() {
    let body = format!("colour = \"red\"\n{CRITERIA_BODY}");
    let test = with_criteria_body(&body);
    let line = line_of(&test.read(CRITERIA_PATH), "colour = \"red\"");
    rejects(
        &test,
        &RUN,
        &[&format!("criteria/c.toml:{line}:"), "colour"],
    );
}

#[test]
fn misspelled_gate_threshold() {
    // `minimum` instead of `min` must not leave a gate without a threshold.
    let body = CRITERIA_BODY.replacen("min = 1.0", "minimum = 1.0", 1);
    let test = with_criteria_body(&body);
    let line = line_of(&test.read(CRITERIA_PATH), "minimum = 1.0");
    rejects(
        &test,
        &RUN,
        &[&format!("criteria/c.toml:{line}:"), "minimum"],
    );
}

#[test]
fn unknown_scorer_type() {
    let body = format!("{CRITERIA_BODY}\n[[scorers]]\nname = \"b\"\ntype = \"bleu\"\n");
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml:", "bleu"]);
}

#[test]
fn unknown_scorer_field() {
    let body =
        format!("{CRITERIA_BODY}\n[[scorers]]\nname = \"r\"\ntype = \"regex\"\npatern = \"x\"\n");
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml:", "patern"]);
}

#[test]
fn unknown_gate_metric() {
    let body = format!("{CRITERIA_BODY}\n[[gates]]\nmetric = \"accuracy\"\nmin = 0.5\n");
    let test = with_criteria_body(&body);
    let text = test.read(CRITERIA_PATH);
    let gate_line = line_of(&text, "metric = \"accuracy\"") - 1;
    rejects(
        &test,
        &RUN,
        &[&format!("criteria/c.toml:{gate_line}:"), "accuracy"],
    );
}

#[test]
fn gate_threshold_outside_zero_to_one() {
    let body = CRITERIA_BODY.replacen("min = 1.0", "min = 95", 1);
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml:", "95"]);
}

#[test]
fn invalid_regex_in_a_criteria_scorer() {
    let body = format!(
        "{CRITERIA_BODY}\n[[scorers]]\nname = \"shape\"\ntype = \"regex\"\npattern = \"(unclosed\"\n"
    );
    let test = with_criteria_body(&body);
    let text = test.read(CRITERIA_PATH);
    let scorer_line = line_of(&text, "name = \"shape\"") - 1;
    rejects(
        &test,
        &RUN,
        &[
            &format!("criteria/c.toml:{scorer_line}:"),
            "shape",
            "invalid regex",
        ],
    );
}

#[test]
fn invalid_regex_in_the_mock_rules() {
    let test = Test::project().file(
        RULES_PATH,
        "[[rules]]\nmatch = 'hello'\nresponse = 'hi'\n\n[[rules]]\nmatch = '(unclosed'\nresponse = 'x'\n",
    );
    rejects(
        &test,
        &run_with_rules(),
        &["golden/rules.toml:5:", "invalid regex"],
    );
}

#[test]
fn missing_mock_rules_file() {
    let test = Test::project();
    rejects(
        &test,
        &run_with_rules(),
        &["golden/rules.toml", "not found"],
    );
}

#[test]
fn criteria_that_checks_nothing() {
    let body = "\n[[scorers]]\nname = \"s\"\ntype = \"length\"\nmin = 1\n";
    let test = with_criteria_body(body);
    rejects(&test, &RUN, &["criteria/c.toml"]);
}

#[test]
fn two_scorers_with_one_name() {
    let body = format!(
        "{CRITERIA_BODY}\n[[scorers]]\nname = \"mentions_expected\"\ntype = \"length\"\nmin = 1\n"
    );
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml:", "mentions_expected"]);
}

#[test]
fn per_case_assert_named_like_a_criteria_scorer() {
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\", \
                  \"assert\": [{\"name\": \"mentions_expected\", \"type\": \"length\", \"min\": 1}]}\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    rejects(&test, &RUN, &["golden/g.jsonl:1:", "mentions_expected"]);
}

#[test]
fn compare_alpha_outside_zero_to_one() {
    let body = format!("{CRITERIA_BODY}\n[compare]\nmetric = \"pass_rate\"\nalpha = 1.5\n");
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml", "alpha"]);
}

#[test]
fn invalid_prompt_id() {
    let prompt = PROMPT.replacen("id = \"demo\"", "id = \"Demo Prompt\"", 1);
    let test = Test::project().file(PROMPT_PATH, prompt);
    rejects(&test, &RUN, &["prompts/p.toml", "Demo Prompt"]);
}

#[test]
fn invalid_review_by_date() {
    let prompt = PROMPT.replacen("2030-01-01", "next spring", 1);
    let test = Test::project().file(PROMPT_PATH, prompt);
    rejects(&test, &RUN, &["prompts/p.toml", "next spring"]);
}

#[test]
fn prompt_without_messages() {
    let prompt = &PROMPT[..PROMPT.find("[[messages]]").unwrap()];
    let test = Test::project().file(PROMPT_PATH, prompt);
    rejects(&test, &RUN, &["prompts/p.toml"]);
}

#[test]
fn criteria_without_any_scorer() {
    let test = with_criteria_body("\n[[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n");
    rejects(&test, &RUN, &["criteria/c.toml"]);
}

// ---------------------------------------------------------------------------------------
// Golden sets

#[test]
fn duplicate_case_id_names_the_id_and_both_lines() {
    let test = with_bad_golden(
        "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
         {\"id\": \"b\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
         {\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n",
    );
    let line = rejects(&test, &RUN, &["golden/g.jsonl:3:", "\"a\"", "line 1"]);
    assert!(line.contains("duplicate"), "{line}");
}

#[test]
fn empty_case_id() {
    let test = with_bad_golden(
        "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
         {\"id\": \"\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n",
    );
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "empty"]);
}

#[test]
fn case_id_that_is_not_a_string() {
    let test = with_bad_golden("{\"id\": 7, \"vars\": {\"question\": \"q\"}}\n");
    rejects(&test, &RUN, &["golden/g.jsonl:1:", "id"]);
}

#[test]
fn empty_golden_file() {
    rejects(&with_bad_golden(""), &RUN, &["golden/g.jsonl", "no cases"]);
}

#[test]
fn whitespace_only_golden_file() {
    rejects(
        &with_bad_golden("\n   \n\t\r\n\n"),
        &RUN,
        &["golden/g.jsonl", "no cases"],
    );
}

#[test]
fn golden_line_that_is_an_array() {
    let test = with_bad_golden("{\"id\": \"a\", \"vars\": {\"question\": \"q\"}}\n[1,2]\n");
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "object"]);
}

#[test]
fn golden_line_that_is_a_string() {
    let test = with_bad_golden("{\"id\": \"a\", \"vars\": {\"question\": \"q\"}}\n\"x\"\n");
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "object"]);
}

#[test]
fn golden_line_that_is_a_number_or_null() {
    for line in ["42", "null", "true"] {
        let test = with_bad_golden(format!("{line}\n"));
        rejects(&test, &RUN, &["golden/g.jsonl:1:", "object"]);
    }
}

#[test]
fn golden_line_that_is_not_json() {
    let test = with_bad_golden(
        "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}}\n{\"id\": \"b\", \"vars\": \n",
    );
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "JSON"]);
}

#[test]
fn golden_case_with_an_unknown_field() {
    // A typo such as `expect` must not silently drop the expected value.
    let test =
        with_bad_golden("{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expect\": \"q\"}\n");
    rejects(&test, &RUN, &["golden/g.jsonl:1:", "expect"]);
}

#[test]
fn golden_vars_that_are_not_an_object() {
    let test = with_bad_golden("{\"id\": \"a\", \"vars\": \"q\"}\n");
    rejects(&test, &RUN, &["golden/g.jsonl:1:"]);
}

#[test]
fn golden_file_that_is_not_utf8() {
    let mut bytes = b"{\"id\": \"a\", \"vars\": {\"question\": \"q\"}}\n".to_vec();
    bytes.extend(b"{\"id\": \"b\", \"vars\": {\"question\": \"caf\xe9\"}}\n");
    let test = with_bad_golden(bytes);
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "UTF-8"]);
}

#[test]
fn prompt_file_that_is_not_utf8() {
    let line = line_of(PROMPT, "description = \"A test prompt\"");
    let mut bytes = Vec::new();
    for text in PROMPT.lines() {
        if text.starts_with("description") {
            bytes.extend(b"description = \"caf\xe9\"");
        } else {
            bytes.extend(text.as_bytes());
        }
        bytes.push(b'\n');
    }
    let test = Test::project().file(PROMPT_PATH, bytes);
    rejects(&test, &RUN, &[&format!("prompts/p.toml:{line}:"), "UTF-8"]);
}

#[test]
fn criteria_file_that_is_not_utf8() {
    let test = Test::project();
    let mut bytes = test.read(CRITERIA_PATH).into_bytes();
    bytes.extend(b"# caf\xe9\n");
    test.write(CRITERIA_PATH, bytes);
    rejects(&test, &RUN, &["criteria/c.toml:", "UTF-8"]);
}

#[test]
fn per_case_assert_of_unknown_type() {
    let test = with_bad_golden(
        "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
         {\"id\": \"b\", \"vars\": {\"question\": \"q\"}, \"assert\": [{\"type\": \"bleu\"}]}\n",
    );
    rejects(&test, &RUN, &["golden/g.jsonl:2:", "bleu"]);
}

// ---------------------------------------------------------------------------------------
// Cross-file checks

#[test]
fn template_variable_a_case_lacks() {
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
                  {\"id\": \"no-question\", \"vars\": {\"query\": \"q\"}, \"expected\": \"q\"}\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    rejects(
        &test,
        &RUN,
        &["golden/g.jsonl:2:", "\"no-question\"", "question"],
    );
}

#[test]
fn template_variable_a_case_lacks_in_a_later_message() {
    let prompt = format!(
        "{PROMPT}\n[[messages]]\nrole = \"assistant\"\ncontent = \"Dear {{{{ name }}}}\"\n"
    );
    let test = Test::project().file(PROMPT_PATH, prompt);
    rejects(&test, &RUN, &["golden/g.jsonl:1:", "\"greet-001\"", "name"]);
}

#[test]
fn nested_variable_a_case_lacks() {
    // Met while rendering (the top-level variable exists): still exit 2, naming the case.
    let prompt = PROMPT.replacen("{{ question }}", "{{ user.name }}: {{ question }}", 1);
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\", \"user\": {\"name\": \"Ann\"}}, \"expected\": \"q\"}\n\
                  {\"id\": \"nameless\", \"vars\": {\"question\": \"q\", \"user\": {}}, \"expected\": \"q\"}\n";
    let test = Test::new()
        .file(PROMPT_PATH, prompt)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", CRITERIA_BODY);
    test.run_with(&RUN)
        .input_error(&["golden/g.jsonl:2:", "\"nameless\"", "prompts/p.toml"]);
}

#[test]
fn missing_prompt_file() {
    let test = Test::project();
    rejects(
        &test,
        &[
            "run",
            "--prompt",
            "prompts/nope.toml",
            "--criteria",
            CRITERIA_PATH,
        ],
        &["prompts/nope.toml"],
    );
}

#[test]
fn missing_criteria_file() {
    let test = Test::project();
    rejects(
        &test,
        &[
            "run",
            "--prompt",
            PROMPT_PATH,
            "--criteria",
            "criteria/nope.toml",
        ],
        &["criteria/nope.toml"],
    );
}

#[test]
fn missing_golden_file() {
    let test = Test::new().file(PROMPT_PATH, PROMPT).file(
        CRITERIA_PATH,
        criteria_text("../golden/nope.jsonl", ZERO_PIN, CRITERIA_BODY),
    );
    rejects(&test, &RUN, &["golden/nope.jsonl"]);
}

#[test]
fn prompt_path_that_is_a_directory() {
    let test = Test::project();
    rejects(
        &test,
        &["run", "--prompt", "prompts", "--criteria", CRITERIA_PATH],
        &["prompts"],
    );
}

#[test]
fn must_pass_naming_an_unknown_case() {
    let body = format!("must_pass = [\"greet-001\", \"no-such-case\"]\n{CRITERIA_BODY}");
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml", "no-such-case"]);
}

#[test]
fn gate_tag_that_no_case_has() {
    let body = format!(
        "{CRITERIA_BODY}\n[[gates]]\nmetric = \"pass_rate\"\ntag = \"safety\"\nmin = 1.0\n"
    );
    let test = with_criteria_body(&body);
    let gate_line = line_of(&test.read(CRITERIA_PATH), "tag = \"safety\"") - 2;
    rejects(
        &test,
        &RUN,
        &[&format!("criteria/c.toml:{gate_line}:"), "safety"],
    );
}

#[test]
fn gate_on_the_mean_of_an_unknown_scorer() {
    let body = format!("{CRITERIA_BODY}\n[[gates]]\nmetric = \"mean:similarity\"\nmin = 0.5\n");
    let test = with_criteria_body(&body);
    let gate_line = line_of(&test.read(CRITERIA_PATH), "metric = \"mean:similarity\"") - 1;
    rejects(
        &test,
        &RUN,
        &[&format!("criteria/c.toml:{gate_line}:"), "similarity"],
    );
}

#[test]
fn gate_on_the_pass_rate_of_an_unknown_scorer() {
    let body = format!("{CRITERIA_BODY}\n[[gates]]\nmetric = \"pass_rate:nope\"\nmin = 0.5\n");
    let test = with_criteria_body(&body);
    rejects(&test, &RUN, &["criteria/c.toml:", "nope"]);
}

#[test]
fn scorer_needing_expected_on_a_case_without_one() {
    let golden = "{\"id\": \"a\", \"vars\": {\"question\": \"q\"}, \"expected\": \"q\"}\n\
                  {\"id\": \"no-expected\", \"vars\": {\"question\": \"q\"}}\n";
    let body = "\n[[scorers]]\nname = \"close\"\ntype = \"similarity\"\nmin = 0.5\n\n\
                [[gates]]\nmetric = \"pass_rate\"\nmin = 1.0\n";
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, golden)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", body);
    rejects(
        &test,
        &RUN,
        &["golden/g.jsonl:2:", "\"no-expected\"", "expected"],
    );
}

// ---------------------------------------------------------------------------------------
// Flags

#[test]
fn concurrency_zero() {
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--concurrency", "0"]);
    rejects(&test, &args, &["--concurrency"]);
}

#[test]
fn repeat_zero() {
    let test = Test::project();
    let mut args = RUN.to_vec();
    args.extend(["--repeat", "0"]);
    rejects(&test, &args, &["--repeat"]);
}

// ---------------------------------------------------------------------------------------
// CSV golden sets

#[test]
fn csv_without_an_id_column() {
    let test = with_bad_golden("").file("golden/g.csv", "question,expected\nhello,hello\n");
    test.write(
        CRITERIA_PATH,
        criteria_text("../golden/g.csv", ZERO_PIN, CRITERIA_BODY),
    );
    rejects(&test, &RUN, &["golden/g.csv:1:", "id"]);
}

#[test]
fn csv_row_with_the_wrong_field_count() {
    let test = with_bad_golden("").file(
        "golden/g.csv",
        "id,question,expected\na,hello,hello\nb,hello,hello,extra\n",
    );
    test.write(
        CRITERIA_PATH,
        criteria_text("../golden/g.csv", ZERO_PIN, CRITERIA_BODY),
    );
    rejects(&test, &RUN, &["golden/g.csv:3:"]);
}

#[test]
fn csv_with_a_header_only() {
    let test = with_bad_golden("").file("golden/g.csv", "id,question,expected\n");
    test.write(
        CRITERIA_PATH,
        criteria_text("../golden/g.csv", ZERO_PIN, CRITERIA_BODY),
    );
    rejects(&test, &RUN, &["golden/g.csv", "no cases"]);
}

#[test]
fn csv_with_a_duplicate_id() {
    let test = with_bad_golden("").file(
        "golden/g.csv",
        "id,question,expected\na,hello,hello\nb,hello,hello\na,hello,hello\n",
    );
    test.write(
        CRITERIA_PATH,
        criteria_text("../golden/g.csv", ZERO_PIN, CRITERIA_BODY),
    );
    rejects(&test, &RUN, &["golden/g.csv:4:", "\"a\"", "line 2"]);
}

// ---------------------------------------------------------------------------------------
// Errors met during the run

#[test]
fn mock_response_using_a_variable_the_case_lacks() {
    let test = Test::project().file(
        RULES_PATH,
        "[[rules]]\nmatch = 'hello'\nresponse = 'Hi {{ name }}'\n",
    );
    let line = test
        .run_with(&run_with_rules())
        .input_error(&["golden/rules.toml:1:", "name"]);
    assert!(
        line.contains("greet-00"),
        "the error names the case: {line}"
    );
}

/// A --report path into a folder that does not exist is refused before any call is made.
#[test]
fn a_report_into_a_missing_folder_is_refused_up_front() {
    let t = crate::support::Test::project();
    let mut args = crate::support::RUN.to_vec();
    args.extend(["--report", "md=nowhere/r.md"]);
    t.run_with(&args)
        .input_error(&["--report md=nowhere/r.md", "folder nowhere does not exist"]);
    assert!(
        !t.path().join(".promptgate/runs").exists(),
        "no run was started"
    );
}

/// A template reading `user.name.first` is checked against every case before the run: the
/// first case where that path is missing or not an object is named, and no run starts.
#[test]
fn attribute_paths_in_templates_are_checked_up_front() {
    let golden = "{\"id\": \"a\", \"vars\": {\"user\": {\"name\": {\"first\": \"A\"}}}, \"expected\": \"A\"}\n{\"id\": \"b\", \"vars\": {\"user\": {\"name\": \"B\"}}, \"expected\": \"B\"}\n{\"id\": \"c\", \"vars\": {\"user\": {}}, \"expected\": \"C\"}\n";
    let t = Test::new()
        .file(
            PROMPT_PATH,
            PROMPT.replace("{{ question }}", "Hello {{ user.name.first }}"),
        )
        .file(GOLDEN_PATH, golden);
    let hash = t.golden_hash(GOLDEN_PATH);
    t.write(
        CRITERIA_PATH,
        criteria_text("../golden/g.jsonl", &hash, CRITERIA_BODY),
    );
    t.run_with(&RUN).input_error(&[
        "golden/g.jsonl:2",
        "case \"b\"",
        "reads user.name.first, but user.name is not an object with a field \"first\"",
    ]);
    assert!(
        t.run_dirs(".promptgate/runs").is_empty(),
        "no run was started"
    );
}

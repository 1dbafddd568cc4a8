//! `promptgate golden GOLDEN` and the pin: the golden hash covers the parsed cases in file
//! order; line endings and key order do not change it, any content change does.

use crate::support::{CRITERIA_PATH, GOLDEN, GOLDEN_PATH, RUN, Test, assert_sha256_id};

const A: &str = r#"{"id": "a", "vars": {"question": "q1", "extra": 1}, "expected": "e1", "tags": ["t1", "t2"]}"#;
const B: &str = r#"{"id": "b", "vars": {"question": "q2"}, "expected": {"k": [1, 2]}, "assert": [{"type": "contains", "values": ["x"]}]}"#;

fn hash_of(content: &str) -> String {
    Test::new().file("g.jsonl", content).golden_hash("g.jsonl")
}

#[test]
fn prints_the_hash_and_the_case_count() {
    let test = Test::new().file(GOLDEN_PATH, GOLDEN);
    let out = test.run_with(&["golden", GOLDEN_PATH]);
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", out.stdout);
    assert_sha256_id(lines[0]);
    assert_eq!(lines[1], "cases: 3");
}

#[test]
fn is_stable_across_invocations() {
    assert_eq!(hash_of(GOLDEN), hash_of(GOLDEN));
}

#[test]
fn line_endings_do_not_change_the_hash() {
    let lf = format!("{A}\n{B}\n");
    let crlf = format!("{A}\r\n{B}\r\n");
    let no_final_newline = format!("{A}\n{B}");
    let base = hash_of(&lf);
    assert_eq!(hash_of(&crlf), base);
    assert_eq!(hash_of(&no_final_newline), base);
}

#[test]
fn a_byte_order_mark_does_not_change_the_hash() {
    // Files saved by Windows editors start with a BOM.
    let base = hash_of(&format!("{A}\n{B}\n"));
    assert_eq!(hash_of(&format!("\u{feff}{A}\r\n{B}\r\n")), base);
}

#[test]
fn key_order_and_whitespace_do_not_change_the_hash() {
    let base = hash_of(&format!("{A}\n{B}\n"));
    let reordered_a =
        r#"{"tags":["t1","t2"],"expected":"e1","vars":{"extra":1,"question":"q1"},"id":"a"}"#;
    let reordered_b = r#"{ "assert" : [ { "values" : ["x"], "type" : "contains" } ], "expected" : {"k":[1,2]}, "vars" : {"question":"q2"}, "id" : "b" }"#;
    assert_eq!(hash_of(&format!("{reordered_a}\n{reordered_b}\n")), base);
}

#[test]
fn any_content_change_changes_the_hash() {
    let base = format!("{A}\n{B}\n");
    let variants = [
        (
            "case id",
            base.replacen("\"id\": \"a\"", "\"id\": \"a2\"", 1),
        ),
        ("variable value", base.replacen("\"q1\"", "\"q1 \"", 1)),
        (
            "variable type",
            base.replacen("\"extra\": 1", "\"extra\": \"1\"", 1),
        ),
        ("variable name", base.replacen("\"extra\"", "\"extra2\"", 1)),
        ("expected", base.replacen("\"e1\"", "\"E1\"", 1)),
        (
            "expected removed",
            base.replacen(", \"expected\": \"e1\"", "", 1),
        ),
        ("nested expected", base.replacen("[1, 2]", "[2, 1]", 1)),
        ("tags", base.replacen("[\"t1\", \"t2\"]", "[\"t1\"]", 1)),
        (
            "tag order",
            base.replacen("[\"t1\", \"t2\"]", "[\"t2\", \"t1\"]", 1),
        ),
        ("assert", base.replacen("[\"x\"]", "[\"y\"]", 1)),
        ("case order", format!("{B}\n{A}\n")),
        ("a case added", format!("{base}{{\"id\": \"c\"}}\n")),
    ];
    let mut seen = vec![hash_of(&base)];
    for (what, content) in variants {
        assert_ne!(content, base, "{what}: the edit did not apply");
        let hash = hash_of(&content);
        assert!(
            !seen.contains(&hash),
            "{what}: hash {hash} already seen\n{content}"
        );
        seen.push(hash);
    }
}

#[test]
fn a_criteria_pinned_to_an_old_hash_is_refused() {
    let test = Test::project();
    let old = test.golden_hash(GOLDEN_PATH);
    test.write(
        GOLDEN_PATH,
        GOLDEN.replacen("Say hello again", "Say hello twice", 1),
    );
    let new = test.golden_hash(GOLDEN_PATH);
    assert_ne!(old, new);
    test.run_with(&RUN)
        .input_error(&[GOLDEN_PATH, CRITERIA_PATH, &old, &new]);
    test.assert_no_calls(".promptgate/runs");
}

#[test]
fn a_malformed_golden_set_is_an_input_error() {
    Test::new()
        .file(GOLDEN_PATH, "{\"id\": \"a\"}\n{\"id\": \"a\"}\n")
        .run_with(&["golden", GOLDEN_PATH])
        .input_error(&["golden/g.jsonl:2", "\"a\"", "line 1"]);
}

#[test]
fn a_pin_that_is_not_a_sha256_id_is_an_input_error() {
    let test = Test::project();
    let text = test.read(CRITERIA_PATH);
    let hash = test.golden_hash(GOLDEN_PATH);
    test.write(CRITERIA_PATH, text.replace(&hash, "abc123"));
    test.run_with(&RUN)
        .input_error(&[CRITERIA_PATH, "abc123", "promptgate golden"]);
}

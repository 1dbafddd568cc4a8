//! `promptgate hash PROMPT`: the prompt version covers `[model]` and `[[messages]]` only.

use crate::support::{PROMPT, PROMPT_PATH, Test, assert_sha256_id};

fn version_of(prompt: &str) -> String {
    Test::new().file("p.toml", prompt).prompt_version("p.toml")
}

fn edited(from: &str, to: &str) -> String {
    assert!(PROMPT.contains(from), "PROMPT lacks {from:?}");
    PROMPT.replacen(from, to, 1)
}

#[test]
fn prints_the_version_and_its_short_form() {
    let test = Test::new().file(PROMPT_PATH, PROMPT);
    let out = test.run_with(&["hash", PROMPT_PATH]);
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", out.stdout);
    assert_sha256_id(lines[0]);
    assert_eq!(lines[1], format!("short: {}", &lines[0][7..19]));
}

#[test]
fn is_stable_across_invocations() {
    let test = Test::new().file(PROMPT_PATH, PROMPT);
    let first = test.run_with(&["hash", PROMPT_PATH]);
    let second = test.run_with(&["hash", PROMPT_PATH]);
    first.code(0);
    second.code(0);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn metadata_does_not_change_the_version() {
    let base = version_of(PROMPT);
    for prompt in [
        edited("team@example.com", "someone-else@example.com"),
        edited("A test prompt", "A completely different description"),
        edited("sensitive = false", "sensitive = true"),
        edited("review_by = \"2030-01-01\"", "review_by = \"2031-12-31\""),
        edited("review_by = \"2030-01-01\"\n", ""),
    ] {
        assert_eq!(version_of(&prompt), base, "{prompt}");
    }
}

#[test]
fn formatting_and_comments_do_not_change_the_version() {
    let base = version_of(PROMPT);
    let reformatted = r#"# a comment
id = "demo"
[model]
seed = 1            # keys in another order
max_tokens = 100
temperature = 0.0
name = "mock-model"

[[messages]]
content = "Answer briefly."
role = "system"

[[messages]]
role = 'user'
content = '{{ question }}'
"#;
    assert_eq!(version_of(reformatted), base);
    // An integer temperature is the same setting as its float.
    assert_eq!(
        version_of(&edited("temperature = 0.0", "temperature = 0")),
        base
    );
}

#[test]
fn the_prompt_id_does_not_change_the_version() {
    // The version is the hash of model + messages; the id names the prompt, not its content.
    assert_eq!(
        version_of(&edited("id = \"demo\"", "id = \"other\"")),
        version_of(PROMPT)
    );
}

#[test]
fn any_behaviour_change_changes_the_version() {
    let base = version_of(PROMPT);
    let variants = [
        (
            "message content",
            edited("Answer briefly.", "Answer briefly!"),
        ),
        (
            "message role",
            edited("role = \"system\"", "role = \"assistant\""),
        ),
        (
            "model name",
            edited("name = \"mock-model\"", "name = \"mock-model-2\""),
        ),
        (
            "temperature",
            edited("temperature = 0.0", "temperature = 0.2"),
        ),
        ("max_tokens", edited("max_tokens = 100", "max_tokens = 101")),
        ("seed", edited("seed = 1", "seed = 2")),
        ("seed removed", edited("seed = 1\n", "")),
        (
            "an added message",
            format!("{PROMPT}\n[[messages]]\nrole = \"assistant\"\ncontent = \"ok\"\n"),
        ),
    ];
    let mut seen = vec![base.clone()];
    for (what, prompt) in variants {
        let version = version_of(&prompt);
        assert!(
            !seen.contains(&version),
            "{what}: version {version} was already seen\n{prompt}"
        );
        seen.push(version);
    }
}

#[test]
fn a_malformed_prompt_is_an_input_error() {
    Test::new()
        .file(PROMPT_PATH, edited("[model]", "[model"))
        .run_with(&["hash", PROMPT_PATH])
        .input_error(&["prompts/p.toml:"]);
}

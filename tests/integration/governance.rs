//! Promotion governance: approve, promote (and every refusal), rollback, show, status, the
//! hash-chained ledger and its tamper checks, `--base-ref`, and audit.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{CRITERIA_PATH, PROMPT, PROMPT_PATH, RUN, Test};

const LEDGER: &str = "promptgate.ledger.jsonl";

const CONFIG: &str = r#"[promotion]
environments = ["dev", "staging", "prod"]
approvals = { prod = 2 }
ledger = "promptgate.ledger.jsonl"
store = ".promptgate/store"
"#;

fn project() -> Test {
    Test::project().file("promptgate.toml", CONFIG)
}

fn sensitive_project() -> Test {
    project().file(
        PROMPT_PATH,
        PROMPT.replace("sensitive = false", "sensitive = true"),
    )
}

/// A passing run of the prompt file as it is now; its directory, absolute.
fn evidence(t: &Test) -> String {
    let out = t.run_with(&RUN);
    out.code(0);
    out.run_dir().path.display().to_string()
}

/// A failing run of the prompt as it is now (a gate no run can meet).
fn failing_evidence(t: &Test) -> String {
    let hash = t.golden_hash("golden/g.jsonl");
    t.write(
        "criteria/fail.toml",
        crate::support::criteria_text(
            "../golden/g.jsonl",
            &hash,
            "\n[[scorers]]\nname = \"m\"\ntype = \"contains\"\n\n[[gates]]\nmetric = \"pass_rate\"\nmax = 0.5\n",
        ),
    );
    let out = t.run_with(&[
        "run",
        "--prompt",
        PROMPT_PATH,
        "--criteria",
        "criteria/fail.toml",
    ]);
    out.code(1);
    out.run_dir().path.display().to_string()
}

fn promote(t: &Test, env: &str, run: &str, actor: &str) -> crate::support::Output {
    t.run_with(&[
        "promote",
        PROMPT_PATH,
        "--to",
        env,
        "--evidence",
        run,
        "--actor",
        actor,
    ])
}

fn canary(t: &Test, env: &str, percent: &str, run: &str, actor: &str) -> crate::support::Output {
    t.run_with(&[
        "canary",
        PROMPT_PATH,
        "--env",
        env,
        "--percent",
        percent,
        "--evidence",
        run,
        "--actor",
        actor,
    ])
}

/// The flag `export flagd --env ENV` renders for prompt `demo`.
fn flag(t: &Test, env: &str) -> Value {
    let out = t.run_with(&["export", "flagd", "--env", env]);
    let doc: Value = serde_json::from_str(&out.code(0).stdout).expect("only JSON on stdout");
    doc["flags"]["demo"].clone()
}

fn approve(t: &Test, env: &str, actor: &str) -> crate::support::Output {
    t.run_with(&["approve", PROMPT_PATH, "--env", env, "--actor", actor])
}

fn ledger_lines(t: &Test) -> Vec<Value> {
    let path = t.path().join(LEDGER);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger line is JSON"))
        .collect()
}

fn short(version: &str) -> &str {
    &version["sha256:".len().."sha256:".len() + 12]
}

fn status_json(t: &Test) -> Value {
    let out = t.run_with(&["status", "--format", "json"]);
    out.code(0);
    serde_json::from_str(&out.stdout).expect("status --format json is JSON")
}

/// `(live short version, working_copy_differs)` of prompt `demo` in `env`.
fn live(t: &Test, env: &str) -> (Value, Value) {
    let status = status_json(t);
    let prompt = status["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "demo")
        .expect("demo in status")
        .clone();
    let row = prompt["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["env"] == env)
        .expect("env row")
        .clone();
    (row["live"].clone(), row["working_copy_differs"].clone())
}

/// The refusal contract: exit 1, the reason on stderr, nothing recorded.
#[track_caller]
fn refused(t: &Test, out: &crate::support::Output, needle: &str) {
    let before = ledger_lines(t).len();
    out.code(1).stderr_has("refused: ").stderr_has(needle);
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
    assert_eq!(ledger_lines(t).len(), before);
}

#[test]
fn promotes_through_every_environment_with_status_after_each_step() {
    let t = project();
    let version = t.prompt_version(PROMPT_PATH);
    let run = evidence(&t);
    assert_eq!(live(&t, "dev").0, Value::Null);
    t.run_with(&["status"])
        .code(0)
        .stdout_has("demo")
        .stdout_has("dev        -");
    for (i, env) in ["dev", "staging", "prod"].into_iter().enumerate() {
        promote(&t, env, &run, "alice")
            .code(0)
            .stdout_has(&format!("promoted demo {} to {env}", short(&version)));
        assert_eq!(
            live(&t, env),
            (Value::from(short(&version)), Value::from(false))
        );
        let lines = ledger_lines(&t);
        assert_eq!(lines.len(), i + 1);
        let entry = &lines[i];
        assert_eq!(entry["action"], "promote");
        assert_eq!(entry["env"], env);
        assert_eq!(entry["actor"], "alice");
        assert_eq!(entry["version"], version.as_str());
        assert_eq!(entry["seq"], i as u64 + 1);
        assert!(
            entry["evidence"]["report_sha256"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        t.run_with(&["status"])
            .code(0)
            .stdout_has(&format!("{env:<10} {}  since ", short(&version)))
            .stdout_has("by alice  (working copy matches prompts/p.toml)");
    }
    // The store holds the promoted file byte for byte.
    let stored = t
        .path()
        .join(".promptgate/store")
        .join(format!("{}.toml", &version["sha256:".len()..]));
    assert_eq!(std::fs::read(stored).unwrap(), PROMPT.as_bytes());
    // Promoting what is live is a no-op.
    promote(&t, "prod", &run, "alice")
        .code(0)
        .stdout_has("already live in prod");
    assert_eq!(ledger_lines(&t).len(), 3);
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("3 entries, hash chain intact");
    // An edit shows in status as a differing working copy.
    t.write(
        PROMPT_PATH,
        PROMPT.replace("Answer briefly.", "Answer briefly!"),
    );
    assert_eq!(live(&t, "prod").1, Value::from(true));
    t.run_with(&["status"])
        .code(0)
        .stdout_has("(working copy differs)");
}

#[test]
fn refuses_a_failing_run() {
    let t = project();
    let run = failing_evidence(&t);
    let out = promote(&t, "dev", &run, "alice");
    refused(&t, &out, "did not pass (verdict fail)");
    assert!(!t.path().join(".promptgate/store").exists());
    assert!(
        !t.path().join(LEDGER).exists(),
        "a refusal leaves no ledger behind"
    );
}

#[test]
fn refuses_an_unfinished_run() {
    let t = project();
    let run = evidence(&t);
    let manifest = Path::new(&run).join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"completed\"", "\"interrupted\"")).unwrap();
    refused(
        &t,
        &promote(&t, "dev", &run, "alice"),
        "is interrupted, not completed",
    );
}

#[test]
fn refuses_evidence_of_another_prompt_version() {
    let t = project();
    let run = evidence(&t);
    let old = t.prompt_version(PROMPT_PATH);
    t.write(
        PROMPT_PATH,
        PROMPT.replace("Answer briefly.", "Answer at length."),
    );
    let new = t.prompt_version(PROMPT_PATH);
    refused(
        &t,
        &promote(&t, "dev", &run, "alice"),
        &format!("ran demo {}, not demo {}", short(&old), short(&new)),
    );
}

#[test]
fn refuses_when_the_criteria_changed_since_the_run() {
    let t = project();
    let run = evidence(&t);
    let text = t.read(CRITERIA_PATH);
    t.write(CRITERIA_PATH, text.replace("version = 1", "version = 2"));
    refused(
        &t,
        &promote(&t, "dev", &run, "alice"),
        "changed since the evidence run: version 1",
    );
}

#[test]
fn refuses_a_golden_hash_the_criteria_do_not_pin() {
    let t = project();
    let run = evidence(&t);
    let manifest = Path::new(&run).join("manifest.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    value["golden"]["hash"] = Value::from(format!("sha256:{}", "0".repeat(64)));
    std::fs::write(&manifest, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    refused(
        &t,
        &promote(&t, "dev", &run, "alice"),
        "golden set hash 000000000000 is not the one the criteria pin",
    );
}

#[test]
fn refuses_skipping_an_environment() {
    let t = project();
    let run = evidence(&t);
    refused(
        &t,
        &promote(&t, "staging", &run, "alice"),
        "is not live in dev (live there: nothing): promote it to dev first",
    );
    promote(&t, "dev", &run, "alice").code(0);
    refused(
        &t,
        &promote(&t, "prod", &run, "alice"),
        "is not live in staging",
    );
}

#[test]
fn missing_evidence_and_unknown_environments_are_input_errors() {
    let t = project();
    promote(&t, "dev", "no-such-run", "alice").input_error(&["no-such-run", "not found"]);
    let run = evidence(&t);
    promote(&t, "qa", &run, "alice").input_error(&["unknown environment \"qa\""]);
    assert!(ledger_lines(&t).is_empty());
}

#[test]
fn sensitive_prompts_need_distinct_approvers_of_this_version_for_this_env() {
    let t = sensitive_project();
    let run = evidence(&t);
    promote(&t, "dev", &run, "alice").code(0);
    promote(&t, "staging", &run, "alice").code(0);
    refused(
        &t,
        &promote(&t, "prod", &run, "bob"),
        "prod needs 2 distinct approver(s)",
    );
    approve(&t, "prod", "alice")
        .code(0)
        .stdout_has("approved demo");
    // A repeated approval is a no-op.
    approve(&t, "prod", "alice")
        .code(0)
        .stdout_has("already approved");
    // An approval for another environment does not count for prod.
    approve(&t, "staging", "carol").code(0);
    let out = promote(&t, "prod", &run, "bob");
    refused(&t, &out, "it has 1 (alice)");
    // The promoter's own approval does not count.
    approve(&t, "prod", "bob").code(0);
    refused(
        &t,
        &promote(&t, "prod", &run, "bob"),
        "other than the promoter bob, it has 1 (alice)",
    );
    approve(&t, "prod", "carol").code(0);
    promote(&t, "prod", &run, "bob")
        .code(0)
        .stdout_has("to prod by bob");
    let lines = ledger_lines(&t);
    let last = lines.last().unwrap();
    assert_eq!(last["action"], "promote");
    assert_eq!(last["approvals"], serde_json::json!(["alice", "carol"]));
    let approvals = lines.iter().filter(|l| l["action"] == "approve").count();
    assert_eq!(approvals, 4, "alice, carol (staging), bob, carol");
}

#[test]
fn an_edit_invalidates_approvals() {
    let t = sensitive_project();
    approve(&t, "prod", "alice").code(0);
    approve(&t, "prod", "carol").code(0);
    t.write(
        PROMPT_PATH,
        PROMPT
            .replace("sensitive = false", "sensitive = true")
            .replace("Answer briefly.", "Answer briefly and kindly."),
    );
    let run = evidence(&t);
    promote(&t, "dev", &run, "bob").code(0);
    promote(&t, "staging", &run, "bob").code(0);
    refused(&t, &promote(&t, "prod", &run, "bob"), "it has 0");
}

#[test]
fn rollback_restores_the_previous_version_byte_for_byte() {
    let t = project();
    let v1 = t.prompt_version(PROMPT_PATH);
    let run1 = evidence(&t);
    promote(&t, "dev", &run1, "alice").code(0);
    let edited = PROMPT.replace("Answer briefly.", "Answer very briefly.");
    t.write(PROMPT_PATH, &edited);
    let v2 = t.prompt_version(PROMPT_PATH);
    let run2 = evidence(&t);
    promote(&t, "dev", &run2, "alice").code(0);
    assert_eq!(
        live(&t, "dev"),
        (Value::from(short(&v2)), Value::from(false))
    );

    // --reason is required.
    t.run_with(&["rollback", "demo", "--env", "dev", "--actor", "ops"])
        .code(2);
    t.run_with(&[
        "rollback",
        "demo",
        "--env",
        "dev",
        "--actor",
        "ops",
        "--reason",
        "complaints",
    ])
    .code(0)
    .stdout_has(&format!("from {} to {}", short(&v2), short(&v1)));
    assert_eq!(
        live(&t, "dev"),
        (Value::from(short(&v1)), Value::from(true))
    );
    // Nothing is written into prompts/: the store holds the version.
    assert_eq!(t.read(PROMPT_PATH), edited);
    let shown = t.run_with(&["show", short(&v1)]);
    shown.code(0);
    assert_eq!(shown.stdout, PROMPT);
    let shown = t.run_with(&["show", &v2]);
    shown.code(0);
    assert_eq!(shown.stdout, edited);
    let entry = ledger_lines(&t).pop().unwrap();
    assert_eq!(entry["action"], "rollback");
    assert_eq!(entry["previous_version"], v2.as_str());
    assert_eq!(entry["reason"], "complaints");

    // Nothing earlier than v1: a plain rollback has nowhere to go.
    t.run_with(&[
        "rollback", "demo", "--env", "dev", "--actor", "ops", "--reason", "again",
    ])
    .input_error(&["no earlier version"]);
    // --to a version that was live there.
    t.run_with(&[
        "rollback",
        "demo",
        "--env",
        "dev",
        "--to",
        short(&v2),
        "--actor",
        "ops",
        "--reason",
        "fixed",
    ])
    .code(0);
    assert_eq!(live(&t, "dev").0, Value::from(short(&v2)));
    // --to a version never live there.
    t.run_with(&[
        "rollback",
        "demo",
        "--env",
        "staging",
        "--to",
        short(&v1),
        "--actor",
        "ops",
        "--reason",
        "x",
    ])
    .input_error(&["never been live in staging"]);
    t.run_with(&[
        "rollback",
        "demo",
        "--env",
        "dev",
        "--to",
        "abcdefabcdef",
        "--actor",
        "ops",
        "--reason",
        "x",
    ])
    .input_error(&["was never live"]);
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("4 entries");
}

#[test]
fn show_rejects_unknown_and_malformed_versions() {
    let t = project();
    t.run_with(&["show", "abcdefabcdef"])
        .input_error(&["no stored prompt"]);
    t.run_with(&["show", "abc"]).input_error(&["not a version"]);
}

/// Four approvals by different actors: a ledger of four entries with no run needed.
fn four_entries() -> Test {
    let t = project();
    for actor in ["a", "b", "c", "d"] {
        approve(&t, "dev", actor).code(0);
    }
    t
}

fn tamper(t: &Test, edit: impl Fn(Vec<String>) -> Vec<String>) {
    let lines: Vec<String> = t.read(LEDGER).lines().map(String::from).collect();
    let mut text = edit(lines).join("\n");
    text.push('\n');
    t.write(LEDGER, text);
}

#[track_caller]
fn verify_fails_at(t: &Test, line: usize, needle: &str) {
    let out = t.run_with(&["ledger", "verify"]);
    out.code(1)
        .stderr_has(&format!("{LEDGER}:{line}: "))
        .stderr_has(needle);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

/// Appends re-check the chain's links and its tail: a broken structure refuses them.
#[track_caller]
fn append_refused(t: &Test) {
    let before = t.read(LEDGER);
    approve(t, "dev", "zed")
        .code(1)
        .stderr_has("tampered: ledger");
    assert_eq!(t.read(LEDGER), before);
}

#[test]
fn a_missing_or_empty_ledger_does_not_verify() {
    let t = project();
    t.run_with(&["ledger", "verify"])
        .input_error(&[LEDGER, "no ledger here"]);
    t.write(LEDGER, "");
    t.run_with(&["ledger", "verify"])
        .input_error(&[LEDGER, "the ledger is empty"]);
    // Status still shows what there is.
    t.run_with(&["status"]).code(0).stdout_has("demo");
}

#[test]
fn an_edited_field_is_caught() {
    let t = four_entries();
    tamper(&t, |mut l| {
        l[2] = l[2].replace("\"actor\":\"c\"", "\"actor\":\"mallory\"");
        l
    });
    verify_fails_at(&t, 3, "was edited");
    // Every command checks every entry it reads (the edit changed bytes the state index
    // covered, so the whole ledger is read again).
    t.run_with(&["status"]).code(1).stderr_has(&format!(
        "tampered: ledger {LEDGER}:3: seq 3: the hash does not match"
    ));
    append_refused(&t);
    // An edited last entry too.
    let t = four_entries();
    tamper(&t, |mut l| {
        l[3] = l[3].replace("\"actor\":\"d\"", "\"actor\":\"mallory\"");
        l
    });
    verify_fails_at(&t, 4, "was edited");
    append_refused(&t);
    t.run_with(&["status"]).code(1).stderr_has("tampered");
}

#[test]
fn a_deleted_line_is_caught() {
    let t = four_entries();
    tamper(&t, |mut l| {
        l.remove(1);
        l
    });
    verify_fails_at(&t, 2, "deleted, inserted or reordered");
    append_refused(&t);
    let t = four_entries();
    tamper(&t, |mut l| {
        l.pop();
        l
    });
    // Deleting the last entry leaves a valid chain: only --base-ref catches it.
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("3 entries");
}

#[test]
fn a_swapped_pair_is_caught() {
    let t = four_entries();
    tamper(&t, |mut l| {
        l.swap(1, 2);
        l
    });
    verify_fails_at(&t, 2, "deleted, inserted or reordered");
    append_refused(&t);
}

#[test]
fn an_inserted_line_is_caught() {
    let t = four_entries();
    tamper(&t, |mut l| {
        let copy = l[1].clone();
        l.insert(2, copy);
        l
    });
    verify_fails_at(&t, 3, "deleted, inserted or reordered");
    append_refused(&t);
    let t = four_entries();
    tamper(&t, |mut l| {
        l.insert(0, "not json".into());
        l
    });
    verify_fails_at(&t, 1, "not a ledger entry");
    append_refused(&t);
}

fn git(t: &Test, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(t.path())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn base_ref_catches_a_ledger_rebuilt_from_scratch() {
    let t = four_entries();
    git(&t, &["init", "-q"]);
    git(&t, &["add", LEDGER, "promptgate.toml"]);
    git(&t, &["commit", "-q", "-m", "ledger"]);
    // Appending keeps the committed ledger a prefix.
    approve(&t, "staging", "e").code(0);
    t.run_with(&["ledger", "verify", "--base-ref", "HEAD"])
        .code(0)
        .stdout_has("5 entries")
        .stdout_has("the 4 entries committed at HEAD are its unchanged prefix");
    // Deleting the newest committed entry is caught.
    tamper(&t, |mut l| {
        l.truncate(3);
        l
    });
    t.run_with(&["ledger", "verify"]).code(0);
    t.run_with(&["ledger", "verify", "--base-ref", "HEAD"])
        .code(1)
        .stderr_has("is not a prefix of today's");
    // A ledger rebuilt from scratch has an intact chain of its own.
    std::fs::remove_file(t.path().join(LEDGER)).unwrap();
    for actor in ["a", "b", "mallory"] {
        approve(&t, "dev", actor).code(0);
    }
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("3 entries, hash chain intact");
    t.run_with(&["ledger", "verify", "--base-ref", "HEAD"])
        .code(1)
        .stderr_has(&format!(
            "{LEDGER}:1: the ledger committed at HEAD is not a prefix"
        ));
    t.run_with(&["ledger", "verify", "--base-ref", "no-such-rev"])
        .input_error(&["not a commit"]);
}

#[test]
fn base_ref_before_the_ledger_existed_is_an_empty_prefix() {
    let t = project();
    git(&t, &["init", "-q"]);
    git(&t, &["add", "promptgate.toml"]);
    git(&t, &["commit", "-q", "-m", "config"]);
    approve(&t, "dev", "a").code(0);
    t.run_with(&["ledger", "verify", "--base-ref", "HEAD"])
        .code(0)
        .stdout_has("the 0 entries committed at HEAD");
}

#[test]
fn audit_lists_ownerless_overdue_and_idle_prompts() {
    let t = project().file(
        "prompts/old.toml",
        PROMPT
            .replace("id = \"demo\"", "id = \"old\"")
            .replace("owner = \"team@example.com\"\n", "")
            .replace("2030-01-01", "2020-01-01"),
    );
    let out = t.run_with(&["audit"]);
    out.code(1)
        .stdout_has("prompts/old.toml (old): no owner")
        .stdout_has("review_by 2020-01-01 has passed")
        .stdout_has("prompts/old.toml (old): neither promoted nor run in the last 60 days")
        .stdout_has("prompts/p.toml (demo): neither promoted nor run")
        .stdout_has("audit: 4 finding(s)");
    // A run counts as activity.
    evidence(&t);
    t.run_with(&["audit"])
        .code(1)
        .stdout_lacks("(demo)")
        .stdout_has("audit: 3 finding(s)");
    std::fs::remove_file(t.path().join("prompts/old.toml")).unwrap();
    t.run_with(&["audit", "--max-age-days", "1"])
        .code(0)
        .stdout_has("audit: every prompt");
}

#[test]
fn the_actor_comes_from_github_actor_when_not_given() {
    let t = project();
    t.run_env(
        &["approve", PROMPT_PATH, "--env", "dev"],
        &[("GITHUB_ACTOR", "octocat")],
    )
    .code(0)
    .stdout_has("by octocat");
    assert_eq!(ledger_lines(&t)[0]["actor"], "octocat");
}

#[test]
fn concurrent_appends_do_not_interleave() {
    let t = project();
    let children: Vec<_> = (0..12)
        .map(|i| {
            t.command(&[
                "approve",
                PROMPT_PATH,
                "--env",
                "dev",
                "--actor",
                &format!("actor{i}"),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn promptgate")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("12 entries, hash chain intact");
}

#[test]
fn export_flagd_holds_every_promoted_version_and_a_canary() {
    let t = project();
    let v1 = t.prompt_version(PROMPT_PATH);
    let run1 = evidence(&t);
    for env in ["dev", "staging", "prod"] {
        promote(&t, env, &run1, "alice").code(0);
    }
    t.write(
        PROMPT_PATH,
        PROMPT.replace("max_tokens = 100", "max_tokens = 120"),
    );
    let v2 = t.prompt_version(PROMPT_PATH);
    let run2 = evidence(&t);
    promote(&t, "dev", &run2, "alice").code(0);

    let out = t.run_with(&["export", "flagd"]);
    out.code(0);
    let doc: Value = serde_json::from_str(&out.stdout).expect("only JSON on stdout");
    let flag = &doc["flags"]["demo"];
    assert_eq!(flag["state"], "ENABLED");
    assert_eq!(flag["defaultVariant"], short(&v1));
    assert_eq!(flag["variants"][short(&v1)]["model"]["max_tokens"], 100);
    assert_eq!(flag["variants"][short(&v2)]["model"]["max_tokens"], 120);
    assert_eq!(
        flag["variants"][short(&v1)]["messages"][1],
        serde_json::json!({"role": "user", "content": "{{ question }}"})
    );
    assert!(flag.get("targeting").is_none());

    let out = t.run_with(&["export", "flagd", "--env", "dev"]);
    let doc: Value = serde_json::from_str(&out.code(0).stdout).unwrap();
    assert_eq!(doc["flags"]["demo"]["defaultVariant"], short(&v2));

    // A canary is recorded with `canary`, never given to the export.
    t.run_with(&["export", "flagd", "--canary", short(&v2), "--percent", "10"])
        .input_error(&["promptgate canary"]);
    promote(&t, "staging", &run2, "alice").code(0);
    canary(&t, "prod", "10", &run2, "alice")
        .code(0)
        .stdout_has(&format!("canaried demo {} in prod at 10%", short(&v2)));
    let out = t.run_with(&["export", "flagd", "--env", "prod", "-o", "flags.json"]);
    out.code(0)
        .stderr_has("wrote 1 flag(s) for prod to flags.json");
    assert!(out.stdout.is_empty());
    let doc: Value = serde_json::from_str(&t.read("flags.json")).unwrap();
    assert_eq!(doc["flags"]["demo"]["defaultVariant"], short(&v1));
    assert_eq!(
        doc["flags"]["demo"]["targeting"],
        serde_json::json!({"fractional": [[short(&v2), 10], [short(&v1), 90]]})
    );
    assert_eq!(doc["flags"]["demo"]["metadata"]["canaryPercent"], 10);
    // A canary is a version that is not live, and needs something live to split with.
    t.write(PROMPT_PATH, PROMPT);
    canary(&t, "prod", "5", &run1, "alice").input_error(&["already live in prod"]);
    t.run_with(&["canary", PROMPT_PATH, "--env", "prod", "--evidence", &run1])
        .code(2);
    t.run_with(&["export", "flagd", "--env", "qa"])
        .input_error(&["unknown environment"]);
}

/// The state index under .promptgate/ is a cache: deleted, garbled or stale (the ledger grew
/// in another clone and was pulled), every command answers as from the ledger alone.
#[test]
fn the_state_index_is_only_a_cache() {
    let t = project();
    let run = evidence(&t);
    promote(&t, "dev", &run, "ann").code(0);
    approve(&t, "staging", "bob").code(0);
    let reference = status_json(&t);
    assert!(t.path().join(INDEX).is_file(), "commands keep an index");
    for garbage in [
        "",
        "{\"format\": 1}",
        "not json",
        "{\"format\":1,\"fingerprint\":\"00\",\"snapshot\":{}}",
    ] {
        t.write(INDEX, garbage);
        assert_eq!(status_json(&t), reference, "index {garbage:?}");
    }
    std::fs::remove_file(t.path().join(INDEX)).unwrap();
    assert_eq!(status_json(&t), reference);

    // Another clone promotes to staging; its ledger is copied back over ours, as a pull would.
    let other = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", t.path().display()))
        .arg(other.path())
        .status()
        .unwrap();
    assert!(copy.success());
    let out = Command::new(env!("CARGO_BIN_EXE_promptgate"))
        .args([
            "promote",
            PROMPT_PATH,
            "--to",
            "staging",
            "--evidence",
            &run,
            "--actor",
            "cy",
        ])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(other.path().join(LEDGER), t.path().join(LEDGER)).unwrap();
    let version = t.prompt_version(PROMPT_PATH);
    assert_eq!(live(&t, "staging").0, short(&version));
    // And a rollback there is refused for want of an earlier version, as the ledger says.
    t.run_with(&[
        "rollback", "demo", "--env", "staging", "--reason", "r", "--actor", "dee",
    ])
    .code(2)
    .stderr_has("only");
    assert_eq!(ledger_lines(&t).len(), 3);
}

const INDEX: &str = ".promptgate/promptgate.ledger.jsonl.index.json";

/// Edits the state kept in the index, leaving its fingerprint of the ledger as it was.
fn forge_index(t: &Test, edit: impl Fn(&mut Value)) {
    let mut index: Value = serde_json::from_str(&t.read(INDEX)).unwrap();
    edit(&mut index["snapshot"]["state"]["prompts"]["demo"]);
    t.write(INDEX, index.to_string());
}

/// Approvals written into the state index by hand do not promote: a promotion reads the
/// whole ledger.
#[test]
fn forged_approvals_in_the_index_do_not_count() {
    let t = sensitive_project();
    let run = evidence(&t);
    let version = t.prompt_version(PROMPT_PATH);
    promote(&t, "dev", &run, "alice").code(0);
    promote(&t, "staging", &run, "alice").code(0);
    forge_index(&t, |demo| {
        demo["approvals"] = serde_json::json!({ version.clone(): { "prod": ["m1", "m2"] } });
    });
    refused(
        &t,
        &promote(&t, "prod", &run, "carol"),
        "prod needs 2 distinct approver(s)",
    );
}

/// A rollback is not taken from a forged live stack: the entries the index names for it
/// are read from the ledger, which does not back the claim, so the ledger decides.
#[test]
fn a_rollback_is_not_taken_from_a_forged_stack() {
    let t = project();
    let run1 = evidence(&t);
    promote(&t, "dev", &run1, "alice").code(0);
    promote(&t, "staging", &run1, "alice").code(0);
    t.write(
        PROMPT_PATH,
        PROMPT.replace("Answer briefly.", "Answer very briefly."),
    );
    let run2 = evidence(&t);
    promote(&t, "dev", &run2, "alice").code(0);
    // Claim staging once ran the second version (index 1), then the first.
    forge_index(&t, |demo| {
        let staging = &mut demo["envs"]["staging"];
        let at = staging["pushed"][0].clone();
        staging["stack"] = serde_json::json!([1, 0]);
        staging["pushed"] = serde_json::json!([at, at]);
        staging["ever"] = serde_json::json!({ "0": at, "1": at });
    });
    t.run_with(&[
        "rollback", "demo", "--env", "staging", "--reason", "r", "--actor", "ops",
    ])
    .code(2)
    .stderr_has("does not match the ledger")
    .stderr_has("only");
    assert_eq!(ledger_lines(&t).len(), 3);
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("3 entries, hash chain intact");
}

/// A sensitive prompt's version that was never approved for prod nor live in staging cannot
/// be canaried to prod, at any percent: a canary is refused as a promotion is, and recorded
/// like one when allowed; `export flagd` renders only what the ledger records.
#[test]
fn a_canary_is_a_promotion_of_traffic() {
    let t = sensitive_project();
    let v1 = t.prompt_version(PROMPT_PATH);
    let run1 = evidence(&t);
    approve(&t, "prod", "bob").code(0);
    approve(&t, "prod", "carol").code(0);
    for env in ["dev", "staging", "prod"] {
        promote(&t, env, &run1, "alice").code(0);
    }
    t.write(
        PROMPT_PATH,
        PROMPT
            .replace("sensitive = false", "sensitive = true")
            .replace("max_tokens = 100", "max_tokens = 120"),
    );
    let v2 = t.prompt_version(PROMPT_PATH);
    let run2 = evidence(&t);
    promote(&t, "dev", &run2, "alice").code(0);
    let before = ledger_lines(&t).len();

    // The bypass: unapproved, not live in staging, to prod at 100%.
    let out = canary(&t, "prod", "100", &run2, "alice");
    refused(&t, &out, "not live in staging");
    out.stderr_has("prod needs 2 distinct approver(s)")
        .stderr_has("was not canaried in prod; nothing was recorded");
    assert_eq!(ledger_lines(&t).len(), before);
    assert!(flag(&t, "prod").get("targeting").is_none());
    // Evidence that did not pass is refused as for promote.
    promote(&t, "staging", &run2, "alice").code(0);
    approve(&t, "prod", "bob").code(0);
    refused(
        &t,
        &canary(&t, "prod", "10", &run2, "alice"),
        "prod needs 2 distinct approver(s)",
    );
    approve(&t, "prod", "carol").code(0);
    // The promoter's own approval does not count.
    refused(
        &t,
        &canary(&t, "prod", "10", &run2, "bob"),
        "prod needs 2 distinct approver(s)",
    );

    canary(&t, "prod", "25", &run2, "alice")
        .code(0)
        .stdout_has(&format!("canaried demo {} in prod at 25%", short(&v2)));
    let lines = ledger_lines(&t);
    let entry = lines.last().unwrap();
    assert_eq!(entry["action"], "canary");
    assert_eq!(entry["percent"], 25);
    assert_eq!(entry["version"], v2.as_str());
    assert_eq!(entry["previous_version"], v1.as_str());
    assert_eq!(entry["approvals"], serde_json::json!(["bob", "carol"]));
    assert!(entry["evidence"]["run_id"].is_string());
    let prod = flag(&t, "prod");
    assert_eq!(prod["defaultVariant"], short(&v1));
    assert_eq!(prod["variants"][short(&v2)]["model"]["max_tokens"], 120);
    assert_eq!(
        prod["targeting"],
        serde_json::json!({"fractional": [[short(&v2), 25], [short(&v1), 75]]})
    );
    // Only prod's traffic is split.
    assert!(flag(&t, "staging").get("targeting").is_none());
    t.run_with(&["status"])
        .code(0)
        .stdout_has(&format!("canary {} at 25%  since ", short(&v2)));
    let status = status_json(&t);
    let prod_row = &status["prompts"][0]["environments"][2];
    assert_eq!(prod_row["canary"]["percent"], 25);
    assert_eq!(prod_row["canary"]["short"], short(&v2));
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has(&format!("{} entries, hash chain intact", lines.len()));

    // Ending it removes the rule; ending nothing is a no-op.
    t.run_with(&["canary", "demo", "--env", "prod", "--end", "--actor", "ops"])
        .code(0)
        .stdout_has(&format!("ended the canary of demo {}", short(&v2)));
    assert_eq!(ledger_lines(&t).last().unwrap()["percent"], 0);
    assert!(flag(&t, "prod").get("targeting").is_none());
    t.run_with(&[
        "canary",
        PROMPT_PATH,
        "--env",
        "prod",
        "--end",
        "--actor",
        "ops",
    ])
    .code(0)
    .stdout_has("nothing to do");
    t.run_with(&["status"]).code(0).stdout_lacks("canary");

    // A promotion of the canaried version ends the canary too.
    canary(&t, "prod", "50", &run2, "alice").code(0);
    assert!(flag(&t, "prod").get("targeting").is_some());
    promote(&t, "prod", &run2, "alice").code(0);
    let prod = flag(&t, "prod");
    assert_eq!(prod["defaultVariant"], short(&v2));
    assert!(prod.get("targeting").is_none());
    let n = ledger_lines(&t).len();
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has(&format!("{n} entries, hash chain intact"));
    // Without the index, every command reads the same.
    std::fs::remove_file(t.path().join(INDEX)).unwrap();
    assert_eq!(flag(&t, "prod"), prod);
}

/// The state index cannot steer what is deployed: an index whose live version for prod was
/// edited changes neither `export flagd` nor `status` nor what a rollback returns from.
#[test]
fn an_edited_index_does_not_steer_export_status_or_rollback() {
    let t = project();
    let v1 = t.prompt_version(PROMPT_PATH);
    let run1 = evidence(&t);
    for env in ["dev", "staging", "prod"] {
        promote(&t, env, &run1, "alice").code(0);
    }
    t.write(
        PROMPT_PATH,
        PROMPT.replace("max_tokens = 100", "max_tokens = 120"),
    );
    let v2 = t.prompt_version(PROMPT_PATH);
    let run2 = evidence(&t);
    for env in ["dev", "staging", "prod"] {
        promote(&t, env, &run2, "alice").code(0);
    }
    let forgeries: [&dyn Fn(&mut Value); 2] = [
        // The live version alone.
        &|demo: &mut Value| {
            demo["envs"]["prod"]["live"]["version"] = demo["versions"][0].clone();
        },
        // The live version and the stack, consistently.
        &|demo: &mut Value| {
            demo["envs"]["prod"]["live"]["version"] = demo["versions"][0].clone();
            demo["envs"]["prod"]["stack"] = serde_json::json!([1, 0]);
        },
    ];
    for forge in forgeries {
        status_json(&t);
        forge_index(&t, forge);
        assert_eq!(flag(&t, "prod")["defaultVariant"], short(&v2));
        forge_index(&t, forge);
        assert_eq!(live(&t, "prod").0, short(&v2));
    }
    forge_index(&t, forgeries[1]);
    t.run_with(&[
        "rollback", "demo", "--env", "prod", "--reason", "r", "--actor", "ops",
    ])
    .code(0)
    .stdout_has(&format!("from {} to {}", short(&v2), short(&v1)));
    assert_eq!(flag(&t, "prod")["defaultVariant"], short(&v1));
    t.run_with(&["ledger", "verify"])
        .code(0)
        .stdout_has("7 entries, hash chain intact");
}

/// Empty input never passes: no prompt to audit, nothing live to export, a prompt file that
/// does not parse.
#[test]
fn nothing_to_check_is_not_a_pass() {
    let t = Test::new().file("promptgate.toml", CONFIG);
    t.run_with(&["audit"])
        .input_error(&["prompts", "nothing to audit"]);
    let t = project();
    t.run_with(&["export", "flagd"])
        .input_error(&["nothing is live in prod"]);
    t.write("prompts/broken.toml", "id = \n");
    t.run_with(&["audit"]).input_error(&["prompts/broken.toml"]);
    t.run_with(&["status"])
        .input_error(&["prompts/broken.toml"]);
}

/// Without an `approvals` table a sensitive prompt still needs one approver for the last
/// environment.
#[test]
fn a_sensitive_prompt_needs_an_approver_by_default() {
    let t = sensitive_project().file("promptgate.toml", "[promotion]\n");
    let run = evidence(&t);
    promote(&t, "dev", &run, "alice").code(0);
    promote(&t, "staging", &run, "alice").code(0);
    refused(
        &t,
        &promote(&t, "prod", &run, "alice"),
        "prod needs 1 distinct approver(s)",
    );
    approve(&t, "prod", "bob").code(0);
    promote(&t, "prod", &run, "alice").code(0);
}

/// Two files holding versions of one prompt: the live version matches when either does.
#[test]
fn status_finds_the_live_version_among_several_files() {
    let t = project();
    let run = evidence(&t);
    promote(&t, "dev", &run, "alice").code(0);
    t.write(
        "prompts/p2.toml",
        PROMPT.replace("Answer briefly.", "Answer at length."),
    );
    t.run_with(&["status"])
        .code(0)
        .stdout_has("(matches prompts/p.toml)");
    let (_, differs) = live(&t, "dev");
    assert_eq!(differs, Value::from(false));
    std::fs::remove_file(t.path().join(PROMPT_PATH)).unwrap();
    t.run_with(&["status"])
        .code(0)
        .stdout_has("(working copy differs)");
}

/// A report.json rewritten by another judgement (other criteria, say) is not evidence of
/// the run its manifest describes.
#[test]
fn a_report_that_is_not_the_runs_judgement_is_refused() {
    let t = project();
    let run = evidence(&t);
    let path = format!("{run}/report.json");
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    report["identity"]["criteria"]["hash"] = Value::from(format!("sha256:{}", "0".repeat(64)));
    std::fs::write(&path, report.to_string()).unwrap();
    refused(
        &t,
        &promote(&t, "dev", &run, "alice"),
        "is not the judgement of that run",
    );
}

/// The forged-evidence reproduction: the demo's v2 fails its gate; `sed -i
/// 's/"verdict": "fail"/"verdict": "pass"/'` on its manifest.json and report.json does not
/// make it promotable, since promote judges the recorded calls again.
#[test]
fn a_failing_run_with_its_verdict_edited_to_pass_is_refused() {
    let t = Test::new().copy_from(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["prompts", "golden", "criteria", "promptgate.toml"],
    );
    let out = t.run_with(&[
        "run",
        "--prompt",
        "prompts/support-v2.toml",
        "--criteria",
        "criteria/support.toml",
    ]);
    out.code(1);
    let run = out.run_dir().path;
    for name in ["manifest.json", "report.json"] {
        let path = run.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let forged = text.replace("\"verdict\": \"fail\"", "\"verdict\": \"pass\"");
        assert_ne!(forged, text, "{name} holds the verdict the sed edits");
        std::fs::write(&path, forged).unwrap();
    }
    let out = t.run_with(&[
        "promote",
        "prompts/support-v2.toml",
        "--to",
        "dev",
        "--evidence",
        &run.display().to_string(),
        "--actor",
        "mallory",
    ]);
    refused(
        &t,
        &out,
        "was altered: its report.json says pass, its recorded calls judge fail",
    );
    assert!(
        !t.path().join(LEDGER).exists(),
        "a refusal leaves no ledger behind"
    );
    assert!(!t.path().join(".promptgate/store").exists());
}

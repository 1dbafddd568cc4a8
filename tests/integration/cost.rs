//! Cost: token totals, a pinned LiteLLM price file, `cost_usd` and its fail-closed gate.

use sha2::{Digest, Sha256};

use crate::support::{CRITERIA_PATH, GOLDEN, GOLDEN_PATH, PROMPT, PROMPT_PATH, RUN, Test};

const PRICES_PATH: &str = "criteria/prices.json";

/// mock-model: $0.001 per input token, $0.002 per output token.
const PRICES: &str = r#"{
  "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "max_tokens": "LEGACY"},
  "mock-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002, "mode": "chat"},
  "other-model": {"input_cost_per_token": 0.5, "output_cost_per_token": 0.5}
}"#;

const SCORER: &str = r#"
[[scorers]]
name = "mentions_expected"
type = "contains"
case_insensitive = true
"#;

fn sha256_id(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The standard project with `prices` pinned by its hash, and `gates` after the scorer.
fn project(prices: &str, gates: &str) -> Test {
    let body = format!(
        "{SCORER}{gates}\n[cost]\nprices = \"prices.json\"\nsha256 = \"{}\"\n",
        sha256_id(prices.as_bytes())
    );
    Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, GOLDEN)
        .file(PRICES_PATH, prices)
        .criteria(CRITERIA_PATH, "../golden/g.jsonl", &body)
}

fn max_gate(max: f64) -> String {
    format!("\n[[gates]]\nmetric = \"cost_usd\"\nmax = {max}\n")
}

/// The cost computed by hand from calls.jsonl's token counts.
fn hand_cost(calls: &[serde_json::Value]) -> (u64, u64, f64) {
    let mut tokens = (0, 0);
    for call in calls {
        assert_eq!(call["model"], "mock-model");
        tokens.0 += call["tokens_in"].as_u64().expect("mock reports tokens_in");
        tokens.1 += call["tokens_out"]
            .as_u64()
            .expect("mock reports tokens_out");
    }
    let cost = tokens.0 as f64 * 0.001 + tokens.1 as f64 * 0.002;
    (tokens.0, tokens.1, cost)
}

#[test]
fn report_cost_matches_the_hand_computation() {
    let out = project(PRICES, &max_gate(1000.0)).run_with(&RUN);
    out.code(0).stdout_has("tokens    ").stdout_has("cost $");
    let run = out.run_dir();
    let (tokens_in, tokens_out, cost) = hand_cost(&run.calls);
    assert!(tokens_in > 0 && tokens_out > 0);
    let summary = &run.report["summary"];
    assert_eq!(summary["tokens_in"], tokens_in);
    assert_eq!(summary["tokens_out"], tokens_out);
    let reported = summary["cost_usd"].as_f64().expect("cost_usd measured");
    assert!((reported - cost).abs() < 1e-9, "{reported} vs {cost}");
    let gate = run.gate("cost_usd", None);
    assert!((gate["value"].as_f64().unwrap() - cost).abs() < 1e-9);
    assert_eq!(gate["passed"], true);
    out.stdout_has(&format!("{tokens_in} in, {tokens_out} out"));
}

#[test]
fn max_cost_gate_passes_at_the_threshold_and_fails_just_below_it() {
    let first = project(PRICES, &max_gate(1000.0)).run_with(&RUN);
    let (_, _, cost) = hand_cost(&first.code(0).run_dir().calls);

    let at = project(PRICES, &max_gate(cost + 1e-12)).run_with(&RUN);
    at.code(0).stdout_has("verdict: PASS");
    assert_eq!(at.run_dir().gate("cost_usd", None)["passed"], true);

    let below = project(PRICES, &max_gate(cost * 0.99)).run_with(&RUN);
    below.code(1).stdout_has("verdict: FAIL");
    let gate = below.run_dir().gate("cost_usd", None).clone();
    assert_eq!(gate["passed"], false);
    assert!((gate["value"].as_f64().unwrap() - cost).abs() < 1e-9);
}

#[test]
fn a_model_without_a_price_fails_the_gate_closed_with_the_reason() {
    let prices = r#"{"other-model": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}}"#;
    let out = project(prices, &max_gate(1000.0)).run_with(&RUN);
    out.code(1)
        .stdout_has("verdict: FAIL")
        .stdout_has("\"mock-model\" has no price");
    let run = out.run_dir();
    let gate = run.gate("cost_usd", None);
    assert_eq!(gate["passed"], false);
    assert!(gate["value"].is_null());
    assert!(run.report["summary"]["cost_usd"].is_null());
    assert!(
        run.report["summary"]["cost_unavailable"]
            .as_str()
            .unwrap()
            .contains("\"mock-model\" has no price")
    );
    // Tokens are still totalled.
    assert!(run.report["summary"]["tokens_in"].as_u64().unwrap() > 0);
}

#[test]
fn an_edited_price_file_is_exit_2_with_its_new_hash() {
    let test = project(PRICES, &max_gate(1000.0));
    let edited = PRICES.replace("0.001", "0.0001");
    test.write(PRICES_PATH, &edited);
    let out = test.run_with(&RUN);
    out.code(2).stderr_has("[cost] sha256").stderr_has(&format!(
        "its sha256 is now {}",
        sha256_id(edited.as_bytes())
    ));
}

#[test]
fn a_cost_gate_without_prices_or_with_a_tag_is_exit_2() {
    let test = Test::new()
        .file(PROMPT_PATH, PROMPT)
        .file(GOLDEN_PATH, GOLDEN)
        .criteria(
            CRITERIA_PATH,
            "../golden/g.jsonl",
            &format!("{SCORER}{}", max_gate(2.0)),
        );
    test.run_with(&RUN).code(2).stderr_has("[cost] prices");

    let tagged = project(
        PRICES,
        "\n[[gates]]\nmetric = \"cost_usd\"\ntag = \"math\"\nmax = 2.0\n",
    );
    tagged.run_with(&RUN).code(2).stderr_has("whole run");
}

#[test]
fn without_prices_tokens_are_still_totalled() {
    let out = Test::project().run_with(&RUN);
    out.code(0)
        .stdout_has("tokens    ")
        .stdout_has("no price file");
    let run = out.run_dir();
    let (tokens_in, tokens_out, _) = hand_cost(&run.calls);
    assert_eq!(run.report["summary"]["tokens_in"], tokens_in);
    assert_eq!(run.report["summary"]["tokens_out"], tokens_out);
    assert!(run.report["summary"]["cost_usd"].is_null());
}

//! `promptgate export flagd`: OpenFeature flagd flag definitions, one flag per prompt with
//! every promoted version as a variant, the environment's live one as default, and the
//! canary the ledger records there, if any, as a `fractional` rule.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Governance, note, tampered};
use crate::digest;
use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::ledger::Reading;
use crate::prompt::Prompt;
use crate::report::terminal::print_stdout;

pub struct FlagdRequest {
    pub env: Option<String>,
    pub output: Option<PathBuf>,
}

/// The `{messages, model}` object a flag variant holds.
fn variant(prompt: &Prompt) -> serde_json::Value {
    json!({ "messages": prompt.messages, "model": prompt.model })
}

pub fn export_flagd(cwd: &Path, req: &FlagdRequest) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let env = match &req.env {
        Some(env) => env.clone(),
        None => gov.environments.last().cloned().unwrap_or_default(),
    };
    gov.check_env(&env)?;
    // What is exported is deployed: it is read from the whole ledger, every entry checked,
    // never from the state index alone.
    let snapshot = match gov.ledger.load_reading(Reading::Whole)? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = &snapshot.state;
    let mut flags = serde_json::Map::new();
    for (id, history) in &state.prompts {
        let Some(live) = state.live(id, &env) else {
            note(&format!(
                "promptgate: {id} has nothing live in {env}: no flag"
            ));
            continue;
        };
        let mut variants = serde_json::Map::new();
        for version in history.versions() {
            let prompt = gov.load_stored(version)?;
            variants.insert(digest::short(version).to_string(), variant(&prompt));
        }
        let live_short = digest::short(&live.version).to_string();
        let mut flag = json!({
            "state": "ENABLED",
            "defaultVariant": live_short,
            "metadata": {
                "promptId": id,
                "environment": env,
                "version": live.version,
                "since": live.ts,
                "by": live.actor,
            },
        });
        if let Some(canary) = state.canary(id, &env) {
            let percent = canary.percent;
            let canary_short = digest::short(&canary.version).to_string();
            let prompt = gov.load_stored(&canary.version)?;
            variants.insert(canary_short.clone(), variant(&prompt));
            // flagd's metadata holds only strings, numbers and booleans.
            flag["metadata"]["canaryVersion"] = json!(canary.version);
            flag["metadata"]["canaryPercent"] = json!(percent);
            flag["metadata"]["canarySince"] = json!(canary.ts);
            flag["metadata"]["canaryBy"] = json!(canary.actor);
            flag["targeting"] = json!({
                "fractional": [
                    [canary_short, percent],
                    [live_short, 100 - percent],
                ]
            });
        }
        flag["variants"] = serde_json::Value::Object(variants);
        flags.insert(id.clone(), flag);
    }
    let count = flags.len();
    // An empty flag file deployed would switch every prompt off: refuse to write one.
    if count == 0 {
        return Err(Error::usage(format!(
            "nothing is live in {env}: no flag to export (promote a prompt to {env} first)"
        )));
    }
    let mut text = serde_json::to_string_pretty(&json!({
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "flags": flags,
    }))
    .expect("flag definitions serialize");
    text.push('\n');
    match &req.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| Error::write_failed(path, &e))?;
            note(&format!(
                "promptgate: wrote {count} flag(s) for {env} to {}",
                path.display()
            ));
        }
        None => print_stdout(&text),
    }
    Ok(Outcome::Passed)
}

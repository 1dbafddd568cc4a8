//! `promptgate export flagd`: OpenFeature flagd flag definitions, one flag per prompt with
//! every promoted version as a variant, the environment's live one as default.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Governance, note, tampered};
use crate::digest;
use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::prompt::Prompt;
use crate::report::terminal::print_stdout;

pub struct FlagdRequest {
    pub env: Option<String>,
    pub canary: Option<String>,
    pub percent: Option<u8>,
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
    let snapshot = match gov.ledger.load()? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = &snapshot.state;
    let canary = match (&req.canary, req.percent) {
        (Some(query), Some(percent)) => {
            if percent > 100 {
                return Err(Error::usage("--percent takes 0 to 100"));
            }
            let prompt = Prompt::load(&gov.find_stored(query)?)?;
            match state.live(&prompt.id, &env) {
                None => {
                    return Err(Error::usage(format!(
                        "--canary {query}: {} has nothing live in {env} to split traffic with",
                        prompt.id
                    )));
                }
                Some(entry) if entry.version == prompt.version => {
                    return Err(Error::usage(format!(
                        "--canary {query} is already live in {env}: a canary is a version that is not"
                    )));
                }
                Some(_) => {}
            }
            Some((prompt, percent))
        }
        (None, None) => None,
        _ => return Err(Error::usage("--canary and --percent go together")),
    };
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
        if let Some((prompt, percent)) = &canary
            && prompt.id == *id
        {
            let canary_short = prompt.short_version().to_string();
            variants.insert(canary_short.clone(), variant(prompt));
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

//! `promptgate status`: prompt × environment → live version, since when, by whom, and
//! whether a file in `prompts/` holds it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;

use super::{Governance, note, tampered};
use crate::digest;
use crate::error::Result;
use crate::exit::Outcome;
use crate::ledger::Reading;
use crate::prompt::Prompt;
use crate::report::terminal::print_stdout;

pub fn status(cwd: &Path, json_format: bool) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let mut snapshot = match gov.ledger.load()? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    // Read through the state index, but what is shown is checked against the ledger: the
    // entries the index names for every live version and canary are read and must say so.
    // Else the whole ledger is read.
    let pairs: Vec<(&str, &str)> = snapshot
        .state
        .prompts
        .iter()
        .flat_map(|(id, p)| p.envs.keys().map(move |env| (id.as_str(), env.as_str())))
        .collect();
    if let Some(why) = gov.ledger.unbacked(&snapshot.state, &pairs, &[])? {
        note(&format!(
            "promptgate: {why}; reading the whole ledger instead"
        ));
        snapshot = match gov.ledger.load_reading(Reading::Whole)? {
            Ok(snapshot) => snapshot,
            Err(t) => return Ok(tampered(&gov, &t)),
        };
    }
    let state = &snapshot.state;
    let files = gov.working_copies()?;
    let mut ids: BTreeSet<String> = files.iter().map(|p| p.id.clone()).collect();
    ids.extend(state.prompts.keys().cloned());
    let mut prompts = Vec::new();
    let mut text = String::new();
    for id in &ids {
        let mine: Vec<&Prompt> = files.iter().filter(|p| p.id == *id).collect();
        text.push_str(&format!("{id}\n"));
        for p in &mine {
            text.push_str(&format!(
                "  working copy {} {}\n",
                gov.shown(&p.path),
                p.short_version()
            ));
        }
        let mut envs = Vec::new();
        for env in &gov.environments {
            let live = state.live(id, env);
            // Several files may hold versions of one prompt: the live one matches when any does.
            let matching = live.and_then(|entry| mine.iter().find(|p| p.version == entry.version));
            let differs = live
                .filter(|_| !mine.is_empty())
                .map(|_| matching.is_none());
            match live {
                Some(entry) => text.push_str(&format!(
                    "  {env:<10} {}  since {} by {}  ({})\n",
                    digest::short(&entry.version),
                    entry.ts,
                    entry.actor,
                    match (matching, mine.len()) {
                        (Some(p), 1) => format!("working copy matches {}", gov.shown(&p.path)),
                        (Some(p), _) => format!("matches {}", gov.shown(&p.path)),
                        (None, 0) => "no working copy".to_string(),
                        (None, 1) => "working copy differs".to_string(),
                        (None, _) => "no working copy matches".to_string(),
                    }
                )),
                None => text.push_str(&format!("  {env:<10} -\n")),
            }
            let canary = state.canary(id, env);
            if let Some(c) = canary {
                text.push_str(&format!(
                    "  {:<10} canary {} at {}%  since {} by {}\n",
                    "",
                    digest::short(&c.version),
                    c.percent,
                    c.ts,
                    c.actor
                ));
            }
            envs.push(json!({
                "env": env,
                "live": live.map(|e| digest::short(&e.version).to_string()),
                "version": live.map(|e| e.version.clone()),
                "since": live.map(|e| e.ts.clone()),
                "by": live.map(|e| e.actor.clone()),
                "action": live.map(|e| e.action),
                "working_copy_differs": differs,
                "canary": canary.map(|c| json!({
                    "short": digest::short(&c.version),
                    "version": c.version,
                    "percent": c.percent,
                    "since": c.ts,
                    "by": c.actor,
                })),
            }));
        }
        prompts.push(json!({
            "id": id,
            "working_copies": mine.iter().map(|p| json!({
                "path": gov.shown(&p.path),
                "version": p.version,
            })).collect::<Vec<_>>(),
            "environments": envs,
        }));
    }
    if json_format {
        let mut out = serde_json::to_string_pretty(&json!({
            "environments": gov.environments,
            "ledger_entries": snapshot.chain.entries,
            "prompts": prompts,
        }))
        .expect("status serializes");
        out.push('\n');
        print_stdout(&out);
    } else {
        if ids.is_empty() {
            text.push_str("no prompts in prompts/ and nothing in the ledger\n");
        }
        print_stdout(&text);
    }
    Ok(Outcome::Passed)
}

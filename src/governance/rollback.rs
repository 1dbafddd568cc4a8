//! `promptgate rollback`: re-points an environment to the version live there before (or to
//! one that was ever live there) from the store, and records it.

use std::path::Path;

use super::{Governance, actor, check_version_query, matches_version, tampered};
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::ledger::{Action, NewEntry, Reading, State};
use crate::report::terminal::print_stdout;

pub struct RollbackRequest {
    pub prompt_id: String,
    pub env: String,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub reason: String,
}

pub fn rollback(cwd: &Path, req: &RollbackRequest) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let env = req.env.as_str();
    let prompt_id = req.prompt_id.as_str();
    gov.check_env(env)?;
    if req.reason.trim().is_empty() {
        return Err(Error::usage(
            "--reason is empty: say why the rollback happens",
        ));
    }
    if let Some(to) = &req.to {
        check_version_query(to)?;
    }
    let actor = actor(req.actor.as_deref())?;
    // Read through the state index (a rollback is the fast way back), but only what the
    // ledger backs is acted on: the entries the index names for the live version, the one
    // before it and the target are read and must say so. Else the whole ledger is read.
    let mut locked = match gov.ledger.lock(Reading::Indexed)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let planned = plan(locked.state(), req);
    let unbacked = match &planned {
        Ok(Some((_, target))) => locked.unbacked(&[(prompt_id, env)], &[target.as_str()])?,
        Ok(None) => locked.unbacked(&[(prompt_id, env)], &[])?,
        // A refusal is re-checked on the whole ledger too: a state index must not refuse
        // what the ledger allows.
        Err(_) => Some(String::new()),
    };
    let planned = match unbacked {
        None => planned,
        Some(why) => {
            if !why.is_empty() {
                super::note(&format!(
                    "promptgate: {why}; reading the whole ledger instead"
                ));
            }
            drop(locked);
            locked = match gov.ledger.lock(Reading::Whole)? {
                Ok(locked) => locked,
                Err(t) => return Ok(tampered(&gov, &t)),
            };
            plan(locked.state(), req)
        }
    };
    let Some((current, target)) = planned? else {
        let current = locked
            .state()
            .live_version(prompt_id, env)
            .unwrap_or_default();
        print_stdout(&format!(
            "{prompt_id} {} is already live in {env}: nothing to do\n",
            digest::short(current)
        ));
        return Ok(Outcome::Passed);
    };
    let stored = gov.store_path(&target);
    if !stored.is_file() {
        return Err(Error::input(
            Location::file(&stored),
            format!(
                "the store lacks {prompt_id} {}: it cannot be rolled back to",
                digest::short(&target)
            ),
        ));
    }
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Rollback,
        prompt_id: prompt_id.to_string(),
        version: target.clone(),
        env: env.to_string(),
        percent: None,
        previous_version: Some(current.clone()),
        evidence: None,
        approvals: Vec::new(),
        reason: Some(req.reason.clone()),
    })?;
    print_stdout(&format!(
        "rolled back {prompt_id} in {env} from {} to {} by {actor} (ledger seq {}; the file is {})\n",
        digest::short(&current),
        digest::short(&target),
        entry.seq,
        gov.shown(&stored)
    ));
    Ok(Outcome::Passed)
}

/// The live version and the one to roll back to, from `state`; `None` when the target is
/// already live.
fn plan(state: &State, req: &RollbackRequest) -> Result<Option<(String, String)>> {
    let (prompt_id, env) = (req.prompt_id.as_str(), req.env.as_str());
    let stack = state.stack(prompt_id, env);
    let Some(current) = stack.last().map(|v| v.to_string()) else {
        return Err(Error::usage(format!(
            "{prompt_id} has never been live in {env}: nothing to roll back"
        )));
    };
    let target = match &req.to {
        Some(query) => {
            let mut ever: Vec<String> = state
                .ever_live(prompt_id, env)
                .into_iter()
                .filter(|v| matches_version(query, v))
                .map(str::to_string)
                .collect();
            match ever.len() {
                0 => {
                    return Err(Error::usage(format!(
                        "{query} was never live for {prompt_id} in {env}: --to takes a version that was"
                    )));
                }
                1 => ever.remove(0),
                _ => {
                    return Err(Error::usage(format!(
                        "{query} is ambiguous: give the full version"
                    )));
                }
            }
        }
        None => match stack.len() {
            0 | 1 => {
                return Err(Error::usage(format!(
                    "{prompt_id} has had only {} live in {env}: there is no earlier version to roll back to",
                    digest::short(&current)
                )));
            }
            n => stack[n - 2].to_string(),
        },
    };
    Ok((target != current).then_some((current, target)))
}

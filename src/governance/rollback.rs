//! `promptgate rollback`: re-points an environment to the version live there before (or to
//! one that was ever live there) from the store, and records it.

use std::path::Path;

use super::{Governance, actor, check_version_query, matches_version, tampered};
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::ledger::{Action, NewEntry, Reading};
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
    let mut locked = match gov.ledger.lock(Reading::Indexed)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
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
    if target == current {
        print_stdout(&format!(
            "{prompt_id} {} is already live in {env}: nothing to do\n",
            digest::short(&target)
        ));
        return Ok(Outcome::Passed);
    }
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

//! `promptgate approve`: records an approval of the prompt file's current version for one
//! environment; an edit makes a new version, which needs new approvals.

use std::path::{Path, PathBuf};

use super::{Governance, actor, read_prompt, tampered};
use crate::error::Result;
use crate::exit::Outcome;
use crate::ledger::{Action, NewEntry, Reading};
use crate::report::terminal::print_stdout;

pub struct ApproveRequest {
    pub prompt: PathBuf,
    pub env: String,
    pub actor: Option<String>,
    pub reason: Option<String>,
}

pub fn approve(cwd: &Path, req: &ApproveRequest) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let env = req.env.as_str();
    gov.check_env(env)?;
    let actor = actor(req.actor.as_deref())?;
    let (prompt, _) = read_prompt(&req.prompt)?;
    // What an approval records (the version live before it) is read from the whole
    // ledger, never from the state index alone.
    let mut locked = match gov.ledger.lock(Reading::Whole)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
    let approvers = state.approvers(&prompt.id, &prompt.version, env);
    if approvers.contains(&actor) {
        print_stdout(&format!(
            "{actor} already approved {} {} for {env}: nothing recorded\n",
            prompt.id,
            prompt.short_version()
        ));
        return Ok(Outcome::Passed);
    }
    let previous = state.live_version(&prompt.id, env).map(str::to_string);
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Approve,
        prompt_id: prompt.id.clone(),
        version: prompt.version.clone(),
        env: env.to_string(),
        percent: None,
        previous_version: previous,
        evidence: None,
        approvals: Vec::new(),
        reason: req.reason.clone(),
    })?;
    let needed = gov.approvals.get(env).copied().unwrap_or(0);
    print_stdout(&format!(
        "approved {} {} for {env} by {actor} (ledger seq {}; {} distinct approver(s) of this version for {env}; a sensitive prompt needs {needed} besides its promoter)\n",
        prompt.id,
        prompt.short_version(),
        entry.seq,
        approvers.len() + 1
    ));
    Ok(Outcome::Passed)
}

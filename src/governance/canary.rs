//! `promptgate canary PROMPT --env ENV --percent P --evidence RUN_DIR`: serves a version to a
//! share of an environment's traffic. A canary is a promotion of traffic: it is refused on
//! exactly the conditions `promote` is (the same policy, the evidence judged again, the whole
//! ledger read), and recorded on the ledger, which `export flagd` renders. `--end` (or
//! `--percent 0`) ends it; so does a promotion or a rollback in that environment.

use std::path::{Path, PathBuf};

use super::promote::candidate;
use super::{Governance, actor, read_prompt, tampered};
use crate::digest;
use crate::error::{Error, Result};
use crate::exit::Outcome;
use crate::ledger::{Action, NewEntry, Reading};
use crate::report::terminal::print_stdout;

pub struct CanaryRequest {
    /// The prompt file; to end a canary, its id will do.
    pub prompt: PathBuf,
    pub env: String,
    /// The share of traffic; 0 ends the canary.
    pub percent: Option<u8>,
    pub end: bool,
    pub evidence: Option<PathBuf>,
    pub actor: Option<String>,
    pub reason: Option<String>,
}

pub fn canary(cwd: &Path, req: &CanaryRequest) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let env = req.env.as_str();
    let env_index = gov.check_env(env)?;
    let percent = match (req.end, req.percent) {
        (true, _) => 0,
        (false, Some(percent)) if percent <= 100 => percent,
        (false, Some(_)) => return Err(Error::usage("--percent takes 0 to 100")),
        (false, None) => {
            return Err(Error::usage(
                "give --percent P (1 to 100) to start or change a canary, or --end to end one",
            ));
        }
    };
    let actor = actor(req.actor.as_deref())?;
    if percent == 0 {
        return end(&gov, req, env, &actor);
    }
    let Some(evidence) = &req.evidence else {
        return Err(Error::usage(
            "a canary needs --evidence RUN_DIR, as a promotion does (--end ends one without)",
        ));
    };
    let candidate = candidate(&gov, &req.prompt, evidence)?;
    let prompt = &candidate.prompt;
    // Decided on the whole ledger, as a promotion is: never on the state index.
    let mut locked = match gov.ledger.lock(Reading::Whole)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
    let Some(live) = state.live_version(&prompt.id, env).map(str::to_string) else {
        return Err(Error::usage(format!(
            "{} has nothing live in {env} to split traffic with: promote a version to {env} first",
            prompt.id
        )));
    };
    if live == prompt.version {
        return Err(Error::usage(format!(
            "{} {} is already live in {env}: a canary is a version that is not",
            prompt.id,
            prompt.short_version()
        )));
    }
    if let Some(recorded) = state.canary(&prompt.id, env)
        && recorded.version == prompt.version
        && recorded.percent == percent
    {
        print_stdout(&format!(
            "{} {} is already the canary in {env} at {percent}%: nothing to do\n",
            prompt.id,
            prompt.short_version()
        ));
        return Ok(Outcome::Passed);
    }
    let not_done = format!("was not canaried in {env}");
    let Some(approvals) =
        candidate.approvals_or_refuse(&gov, state, env, env_index, &actor, &not_done)
    else {
        return Ok(Outcome::Failed);
    };
    gov.store_prompt(&prompt.version, &candidate.bytes)?;
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Canary,
        prompt_id: prompt.id.clone(),
        version: prompt.version.clone(),
        env: env.to_string(),
        percent: Some(percent),
        previous_version: Some(live.clone()),
        evidence: Some(candidate.evidence()),
        approvals,
        reason: req.reason.clone(),
    })?;
    print_stdout(&format!(
        "canaried {} {} in {env} at {percent}% by {actor} (live: {}; ledger seq {})\n",
        prompt.id,
        prompt.short_version(),
        digest::short(&live),
        entry.seq
    ));
    Ok(Outcome::Passed)
}

/// Ends the canary recorded for the prompt (a file, or its id) in `env`.
fn end(gov: &Governance, req: &CanaryRequest, env: &str, actor: &str) -> Result<Outcome> {
    let prompt_id = if req.prompt.is_file() {
        read_prompt(&req.prompt)?.0.id
    } else {
        req.prompt.to_string_lossy().into_owned()
    };
    let mut locked = match gov.ledger.lock(Reading::Whole)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(gov, &t)),
    };
    let state = locked.state();
    let Some(recorded) = state.canary(&prompt_id, env).cloned() else {
        print_stdout(&format!(
            "no canary of {prompt_id} is recorded in {env}: nothing to do\n"
        ));
        return Ok(Outcome::Passed);
    };
    let live = state.live_version(&prompt_id, env).map(str::to_string);
    let entry = locked.append(NewEntry {
        actor: actor.to_string(),
        action: Action::Canary,
        prompt_id: prompt_id.clone(),
        version: recorded.version.clone(),
        env: env.to_string(),
        percent: Some(0),
        previous_version: live,
        evidence: None,
        approvals: Vec::new(),
        reason: req.reason.clone(),
    })?;
    print_stdout(&format!(
        "ended the canary of {prompt_id} {} in {env} (was {}%) by {actor} (ledger seq {})\n",
        digest::short(&recorded.version),
        recorded.percent,
        entry.seq
    ));
    Ok(Outcome::Passed)
}

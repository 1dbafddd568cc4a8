//! What a ledger says now — live versions, their history per environment, approvals — folded
//! entry by entry, so it can be kept beside the ledger and brought up to date by reading only
//! the entries appended since.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Action, Change, Entry};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub prompts: BTreeMap<String, PromptState>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptState {
    /// Versions ever promoted or rolled back to, in the order first seen; the stacks below
    /// hold indices into it, which keeps a long history small.
    pub versions: Vec<String>,
    pub envs: BTreeMap<String, EnvState>,
    /// version → environment → distinct approvers.
    pub approvals: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// The newest `ts` of a promotion or rollback (what the staleness audit asks).
    pub last_change: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvState {
    /// The versions live here, oldest first: promotions push, rollbacks return to an earlier
    /// one and drop what came after it. The last is live.
    pub stack: Vec<u32>,
    /// Where the ledger line of the entry that pushed each version of `stack` starts: a
    /// command that acts on the stack reads those entries to check the index against them.
    pub pushed: Vec<u64>,
    /// Every version that was ever live here, and where the line of the first entry that
    /// made it live starts.
    pub ever: BTreeMap<u32, u64>,
    /// The entry that made the live version live.
    pub live: Live,
    /// The canary recorded here, until a canary entry with percent 0, a promotion or a
    /// rollback here ends it.
    pub canary: Option<Canary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub seq: u64,
    /// Where the entry's line starts in the ledger.
    pub at: u64,
    pub version: String,
    pub ts: String,
    pub actor: String,
    pub action: Action,
}

/// A version served to a share of an environment's traffic, and the entry that recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    pub seq: u64,
    /// Where the entry's line starts in the ledger.
    pub at: u64,
    pub version: String,
    pub percent: u8,
    pub ts: String,
    pub actor: String,
}

fn parse_ts(ts: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(ts).ok()
}

impl PromptState {
    fn version_index(&mut self, version: &str) -> u32 {
        match self.versions.iter().rposition(|v| v == version) {
            Some(i) => i as u32,
            None => {
                self.versions.push(version.to_string());
                (self.versions.len() - 1) as u32
            }
        }
    }

    /// The versions ever promoted or rolled back to, in the order first seen.
    pub fn versions(&self) -> &[String] {
        &self.versions
    }
}

impl State {
    /// Why `change` could not have been written from this state, if it could not: what an
    /// entry records about the state (the version it replaced, the approvals it counted, the
    /// version a rollback returned to) must be what the entries before it say.
    pub fn check(&self, change: &Change<'_>) -> Result<(), String> {
        let (prompt, env) = (change.prompt_id, change.env);
        let live = self.live_version(prompt, env);
        let shown = |v: Option<&str>| v.map_or_else(|| "nothing".to_string(), |v| v.to_string());
        if change.previous_version != live {
            return Err(format!(
                "it records {} as live in {env} before it, the ledger says {}",
                shown(change.previous_version),
                shown(live)
            ));
        }
        if change.action != Action::Canary && change.percent.is_some() {
            return Err("only a canary entry records a percent".to_string());
        }
        let counted = || {
            let approvers = self.approvals_of(prompt, change.version, env);
            match change
                .approvals
                .iter()
                .find(|a| **a == change.actor || !approvers.is_some_and(|set| set.contains(**a)))
            {
                Some(missing) => Err(format!(
                    "it counts an approval by {missing} that the ledger does not hold for {} in {env}",
                    change.version
                )),
                None => Ok(()),
            }
        };
        match change.action {
            Action::Approve => {}
            Action::Promote => counted()?,
            Action::Canary => match change.percent {
                None => return Err("a canary entry without a percent".to_string()),
                Some(0) => {
                    if self.canary(prompt, env).map(|c| c.version.as_str()) != Some(change.version)
                    {
                        return Err(format!(
                            "it ends a canary of {} in {env}, which the ledger does not record",
                            change.version
                        ));
                    }
                }
                Some(percent) => {
                    if percent > 100 {
                        return Err(format!("a canary of {percent}%"));
                    }
                    if live.is_none() || live == Some(change.version) {
                        return Err(format!(
                            "it canaries {} in {env}, where {} is live",
                            change.version,
                            shown(live)
                        ));
                    }
                    counted()?;
                }
            },
            Action::Rollback => {
                if live.is_none() || !self.ever_live(prompt, env).contains(&change.version) {
                    return Err(format!(
                        "it returns {env} to {}, which was never live there",
                        change.version
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn apply(&mut self, change: &Change<'_>) {
        if !self.prompts.contains_key(change.prompt_id) {
            self.prompts
                .insert(change.prompt_id.to_string(), PromptState::default());
        }
        let prompt = self
            .prompts
            .get_mut(change.prompt_id)
            .expect("inserted above");
        if change.action == Action::Approve {
            let envs = match prompt.approvals.get_mut(change.version) {
                Some(envs) => envs,
                None => prompt
                    .approvals
                    .entry(change.version.to_string())
                    .or_default(),
            };
            envs.entry(change.env.to_string())
                .or_default()
                .insert(change.actor.to_string());
            return;
        }
        // A canary moves traffic: it is activity, as a promotion is, for `audit`.
        let newer = match (&prompt.last_change, parse_ts(change.ts)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(last), Some(ts)) => parse_ts(last).is_none_or(|last| ts > last),
        };
        if newer {
            prompt.last_change = Some(change.ts.to_string());
        }
        if change.action == Action::Canary {
            if let Some(env) = prompt.envs.get_mut(change.env) {
                env.canary = match change.percent {
                    None | Some(0) => None,
                    Some(percent) => Some(Canary {
                        seq: change.seq,
                        at: change.at,
                        version: change.version.to_string(),
                        percent,
                        ts: change.ts.to_string(),
                        actor: change.actor.to_string(),
                    }),
                };
            }
            return;
        }
        let version = prompt.version_index(change.version);
        let live = Live {
            seq: change.seq,
            at: change.at,
            version: change.version.to_string(),
            ts: change.ts.to_string(),
            actor: change.actor.to_string(),
            action: change.action,
        };
        match prompt.envs.get_mut(change.env) {
            None => {
                prompt.envs.insert(
                    change.env.to_string(),
                    EnvState {
                        stack: vec![version],
                        pushed: vec![change.at],
                        ever: BTreeMap::from([(version, change.at)]),
                        live,
                        canary: None,
                    },
                );
            }
            Some(env) => {
                let back_to = (change.action == Action::Rollback)
                    .then(|| env.stack.iter().rposition(|&v| v == version))
                    .flatten();
                match back_to {
                    Some(at) => {
                        env.stack.truncate(at + 1);
                        env.pushed.truncate(at + 1);
                    }
                    None => {
                        env.stack.push(version);
                        env.pushed.push(change.at);
                    }
                }
                env.ever.entry(version).or_insert(change.at);
                env.live = live;
                // A promotion or a rollback here ends the canary: its split was against
                // the version live before.
                env.canary = None;
            }
        }
    }

    pub fn prompt(&self, prompt_id: &str) -> Option<&PromptState> {
        self.prompts.get(prompt_id)
    }

    fn env(&self, prompt_id: &str, env: &str) -> Option<(&PromptState, &EnvState)> {
        let prompt = self.prompts.get(prompt_id)?;
        Some((prompt, prompt.envs.get(env)?))
    }

    /// The entry that made the live version of `prompt_id` in `env`, if any.
    pub fn live(&self, prompt_id: &str, env: &str) -> Option<&Live> {
        self.env(prompt_id, env).map(|(_, e)| &e.live)
    }

    /// The canary recorded for `prompt_id` in `env`, if any.
    pub fn canary(&self, prompt_id: &str, env: &str) -> Option<&Canary> {
        self.env(prompt_id, env)
            .and_then(|(_, e)| e.canary.as_ref())
    }

    pub fn live_version(&self, prompt_id: &str, env: &str) -> Option<&str> {
        self.live(prompt_id, env).map(|l| l.version.as_str())
    }

    /// The versions live in `env`, oldest first (see `EnvState::stack`).
    pub fn stack(&self, prompt_id: &str, env: &str) -> Vec<&str> {
        self.env(prompt_id, env).map_or_else(Vec::new, |(p, e)| {
            e.stack
                .iter()
                .map(|&i| p.versions[i as usize].as_str())
                .collect()
        })
    }

    /// Every version that was ever live in `env`.
    pub fn ever_live(&self, prompt_id: &str, env: &str) -> Vec<&str> {
        self.env(prompt_id, env).map_or_else(Vec::new, |(p, e)| {
            e.ever
                .keys()
                .map(|&i| p.versions[i as usize].as_str())
                .collect()
        })
    }

    pub fn approvers(&self, prompt_id: &str, version: &str, env: &str) -> BTreeSet<String> {
        self.approvals_of(prompt_id, version, env)
            .cloned()
            .unwrap_or_default()
    }

    fn approvals_of(&self, prompt_id: &str, version: &str, env: &str) -> Option<&BTreeSet<String>> {
        self.prompts
            .get(prompt_id)
            .and_then(|p| p.approvals.get(version))
            .and_then(|envs| envs.get(env))
    }

    /// Checks what this state says of `prompt_id` in `env` — the live version and the entry
    /// that made it live, the version live before it, the canary, and each of `also` as once
    /// live there — against the ledger entries it names, read by `entry_at` (the entry whose
    /// line starts at that byte, if one does and its hash matches its content). Returns the
    /// first claim the ledger does not back.
    pub fn unbacked(
        &self,
        prompt_id: &str,
        env: &str,
        also: &[&str],
        mut entry_at: impl FnMut(u64) -> std::io::Result<Option<Entry>>,
    ) -> std::io::Result<Option<String>> {
        let Some((p, e)) = self.env(prompt_id, env) else {
            return Ok(None);
        };
        let mut check = |at: u64, claim: String, says: &dyn Fn(&Entry) -> bool| {
            Ok::<_, std::io::Error>(match entry_at(at)? {
                Some(entry) if entry.prompt_id == prompt_id && entry.env == env && says(&entry) => {
                    None
                }
                _ => Some(format!(
                    "it says {claim} for {prompt_id} in {env}, and the ledger entry it names (at byte {at}) does not"
                )),
            })
        };
        let makes_live = |entry: &Entry| matches!(entry.action, Action::Promote | Action::Rollback);
        let live = &e.live;
        if let Some(why) = check(
            live.at,
            format!("seq {} made {} live", live.seq, live.version),
            &|entry| {
                makes_live(entry)
                    && entry.seq == live.seq
                    && entry.version == live.version
                    && entry.ts == live.ts
                    && entry.actor == live.actor
            },
        )? {
            return Ok(Some(why));
        }
        let n = e.stack.len();
        let below = n
            .checked_sub(2)
            .map(|i| p.versions[e.stack[i] as usize].as_str());
        if let Some(why) = check(
            e.pushed[n - 1],
            format!(
                "{} was live before {}",
                below.unwrap_or("nothing"),
                live.version
            ),
            &|entry| {
                makes_live(entry)
                    && entry.version == live.version
                    && entry.previous_version.as_deref() == below
            },
        )? {
            return Ok(Some(why));
        }
        if let Some(canary) = &e.canary
            && let Some(why) = check(
                canary.at,
                format!(
                    "seq {} canaries {} at {}%",
                    canary.seq, canary.version, canary.percent
                ),
                &|entry| {
                    entry.action == Action::Canary
                        && entry.seq == canary.seq
                        && entry.version == canary.version
                        && entry.percent == Some(canary.percent)
                },
            )?
        {
            return Ok(Some(why));
        }
        for version in also {
            let at = p
                .versions
                .iter()
                .position(|v| v == version)
                .and_then(|i| e.ever.get(&(i as u32)));
            let Some(&at) = at else {
                return Ok(Some(format!(
                    "it names {version} for {prompt_id} in {env} without an entry"
                )));
            };
            if let Some(why) = check(at, format!("{version} was once live"), &|entry| {
                makes_live(entry) && entry.version == *version
            })? {
                return Ok(Some(why));
            }
        }
        Ok(None)
    }

    /// Whether the stacks' indices all point into their prompt's versions: an index file
    /// is a cache, so what it holds is checked before it is trusted.
    pub(super) fn is_consistent(&self) -> bool {
        self.prompts.values().all(|p| {
            let n = p.versions.len() as u32;
            p.envs.values().all(|e| {
                e.stack.last().is_some_and(|&top| top < n)
                    && e.pushed.len() == e.stack.len()
                    && e.stack.iter().chain(e.ever.keys()).all(|&i| i < n)
                    && p.versions[*e.stack.last().unwrap_or(&0) as usize] == e.live.version
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;

    fn entry(seq: u64, action: Action, version: &str, env: &str, actor: &str) -> Entry {
        Entry {
            seq,
            ts: format!("2026-11-{:02}T00:00:00.000Z", seq.min(28)),
            actor: actor.into(),
            action,
            prompt_id: "p".into(),
            version: version.into(),
            env: env.into(),
            percent: None,
            previous_version: None,
            evidence: None,
            approvals: vec![],
            reason: None,
            prev_hash: None,
            hash: String::new(),
        }
    }

    #[test]
    fn promotions_push_and_rollbacks_return_to_an_earlier_version() {
        let mut state = State::default();
        for (seq, (action, version)) in [
            (Action::Promote, "a"),
            (Action::Promote, "b"),
            (Action::Promote, "c"),
            (Action::Rollback, "a"),
            (Action::Promote, "d"),
        ]
        .into_iter()
        .enumerate()
        {
            state.apply(&entry(seq as u64 + 1, action, version, "prod", "x").change());
        }
        assert_eq!(state.stack("p", "prod"), ["a", "d"]);
        assert_eq!(state.ever_live("p", "prod"), ["a", "b", "c", "d"]);
        assert_eq!(state.live_version("p", "prod"), Some("d"));
        assert_eq!(state.live("p", "prod").unwrap().seq, 5);
        assert_eq!(state.live_version("p", "dev"), None);
        assert_eq!(state.prompt("p").unwrap().versions(), ["a", "b", "c", "d"]);
        assert_eq!(
            state.prompt("p").unwrap().last_change.as_deref(),
            Some("2026-11-05T00:00:00.000Z")
        );
        assert!(state.is_consistent());
    }

    #[test]
    fn approvals_are_distinct_per_version_and_environment() {
        let mut state = State::default();
        state.apply(&entry(1, Action::Approve, "a", "prod", "x").change());
        state.apply(&entry(2, Action::Approve, "a", "prod", "x").change());
        state.apply(&entry(3, Action::Approve, "a", "prod", "y").change());
        state.apply(&entry(4, Action::Approve, "b", "prod", "z").change());
        state.apply(&entry(5, Action::Approve, "a", "staging", "z").change());
        assert_eq!(state.approvers("p", "a", "prod").len(), 2);
        assert_eq!(state.approvers("p", "b", "prod").len(), 1);
        assert_eq!(state.approvers("p", "a", "staging").len(), 1);
        assert!(state.approvers("q", "a", "prod").is_empty());
        // Approvals alone make a prompt known but nothing live.
        assert_eq!(state.live("p", "prod"), None);
        assert_eq!(state.prompt("p").unwrap().last_change, None);
    }

    #[test]
    fn a_canary_is_recorded_until_ended_promoted_over_or_rolled_back() {
        let mut state = State::default();
        let canary = |seq: u64, version: &str, percent: u8, previous: &str| {
            let mut e = entry(seq, Action::Canary, version, "prod", "x");
            e.percent = Some(percent);
            e.previous_version = Some(previous.into());
            e
        };
        let c = canary(1, "b", 10, "a");
        // Nothing live to split with.
        assert!(state.check(&c.change()).is_err());
        state.apply(&entry(1, Action::Promote, "a", "prod", "x").change());
        let c = canary(2, "b", 10, "a");
        state.check(&c.change()).unwrap();
        state.apply(&c.change());
        assert_eq!(state.canary("p", "prod").unwrap().percent, 10);
        // A canary is activity, for audit's idle check.
        assert_eq!(
            state.prompt("p").unwrap().last_change.as_deref(),
            Some("2026-11-02T00:00:00.000Z")
        );
        assert_eq!(state.live_version("p", "prod"), Some("a"));
        // A canary of the live version, an end of another version, a percent elsewhere.
        assert!(state.check(&canary(3, "a", 10, "a").change()).is_err());
        assert!(state.check(&canary(3, "c", 0, "a").change()).is_err());
        let mut promote = entry(3, Action::Promote, "b", "prod", "x");
        promote.previous_version = Some("a".into());
        promote.percent = Some(5);
        assert!(state.check(&promote.change()).is_err());
        let end = canary(3, "b", 0, "a");
        state.check(&end.change()).unwrap();
        state.apply(&end.change());
        assert_eq!(state.canary("p", "prod"), None);
        state.apply(&canary(4, "b", 50, "a").change());
        promote.percent = None;
        state.apply(&promote.change());
        assert_eq!(state.canary("p", "prod"), None);
        assert!(state.is_consistent());
    }

    #[test]
    fn an_index_pointing_outside_its_versions_is_not_trusted() {
        let mut state = State::default();
        state.apply(&entry(1, Action::Promote, "a", "prod", "x").change());
        assert!(state.is_consistent());
        let mut broken = state.clone();
        broken
            .prompts
            .get_mut("p")
            .unwrap()
            .envs
            .get_mut("prod")
            .unwrap()
            .stack = vec![7];
        assert!(!broken.is_consistent());
    }
}

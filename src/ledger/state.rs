//! What a ledger says now — live versions, their history per environment, approvals — folded
//! entry by entry, so it can be kept beside the ledger and brought up to date by reading only
//! the entries appended since.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Action, Change};

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
    /// Every version that was ever live here.
    pub ever: BTreeSet<u32>,
    /// The entry that made the live version live.
    pub live: Live,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub seq: u64,
    pub version: String,
    pub ts: String,
    pub actor: String,
    pub action: Action,
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
        match change.action {
            Action::Approve => {}
            Action::Promote => {
                let approvers = self.approvals_of(prompt, change.version, env);
                if let Some(missing) = change.approvals.iter().find(|a| {
                    **a == change.actor || !approvers.is_some_and(|set| set.contains(**a))
                }) {
                    return Err(format!(
                        "it counts an approval by {missing} that the ledger does not hold for {} in {env}",
                        change.version
                    ));
                }
            }
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
        let newer = match (&prompt.last_change, parse_ts(change.ts)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(last), Some(ts)) => parse_ts(last).is_none_or(|last| ts > last),
        };
        if newer {
            prompt.last_change = Some(change.ts.to_string());
        }
        let version = prompt.version_index(change.version);
        let live = Live {
            seq: change.seq,
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
                        ever: BTreeSet::from([version]),
                        live,
                    },
                );
            }
            Some(env) => {
                let back_to = (change.action == Action::Rollback)
                    .then(|| env.stack.iter().rposition(|&v| v == version))
                    .flatten();
                match back_to {
                    Some(at) => env.stack.truncate(at + 1),
                    None => env.stack.push(version),
                }
                env.ever.insert(version);
                env.live = live;
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
                .iter()
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

    /// Whether the stacks' indices all point into their prompt's versions: an index file
    /// is a cache, so what it holds is checked before it is trusted.
    pub(super) fn is_consistent(&self) -> bool {
        self.prompts.values().all(|p| {
            let n = p.versions.len() as u32;
            p.envs.values().all(|e| {
                e.stack.last().is_some_and(|&top| top < n)
                    && e.stack.iter().chain(&e.ever).all(|&i| i < n)
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

//! The scorers of one run: the criteria's, applied to every case, plus each case's own
//! `assert` list. Every distinct scorer name gets a slot, so aggregates are per name.

use super::{Observation, Score, Scorer};

pub struct ScorerSet {
    /// Scorer names by slot: the criteria's first, then per-case names in first-seen order.
    pub names: Vec<String>,
    global: Vec<(usize, Scorer)>,
    /// Compiled `assert` lists by case index; empty for most cases.
    per_case: Vec<Vec<(usize, Scorer)>>,
}

impl ScorerSet {
    pub fn new(global: Vec<Scorer>, case_count: usize) -> ScorerSet {
        let names = global.iter().map(|s| s.name.clone()).collect();
        ScorerSet {
            names,
            global: global.into_iter().enumerate().collect(),
            per_case: (0..case_count).map(|_| Vec::new()).collect(),
        }
    }

    pub fn global(&self) -> impl Iterator<Item = &Scorer> {
        self.global.iter().map(|(_, s)| s)
    }

    pub fn is_global(&self, name: &str) -> bool {
        self.global.iter().any(|(_, s)| s.name == name)
    }

    pub fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Adds a case's own scorer; its name must not repeat one the case already has.
    pub fn add_case_scorer(&mut self, case: usize, scorer: Scorer) -> Result<(), String> {
        if self.is_global(&scorer.name) {
            return Err(format!(
                "assert {:?} has the name of a criteria scorer: give it another `name`",
                scorer.name
            ));
        }
        if self.per_case[case]
            .iter()
            .any(|(_, s)| s.name == scorer.name)
        {
            return Err(format!(
                "two asserts are named {:?}: give each a distinct `name`",
                scorer.name
            ));
        }
        let slot = match self.slot(&scorer.name) {
            Some(slot) => slot,
            None => {
                self.names.push(scorer.name.clone());
                self.names.len() - 1
            }
        };
        self.per_case[case].push((slot, scorer));
        Ok(())
    }

    /// Every scorer that applies to case `case`.
    pub fn for_case(&self, case: usize) -> impl Iterator<Item = &Scorer> {
        self.global
            .iter()
            .chain(self.per_case[case].iter())
            .map(|(_, s)| s)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Slots of `llm_judge` scorers (a name judged anywhere), in slot order.
    pub fn judged_slots(&self) -> Vec<usize> {
        let mut slots: Vec<usize> = self
            .global
            .iter()
            .chain(self.per_case.iter().flatten())
            .filter(|(_, s)| s.judge().is_some())
            .map(|(slot, _)| *slot)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Scores one output with every scorer that applies to its case, by slot.
    pub fn score(&self, case: usize, obs: &Observation<'_>) -> Vec<(usize, Score)> {
        self.global
            .iter()
            .chain(self.per_case[case].iter())
            .map(|(slot, scorer)| (*slot, scorer.score(obs)))
            .collect()
    }
}

impl ScorerSet {
    /// Slots of the scorers that apply to case `case`: a failed call fails each of them.
    pub fn slots_for_case(&self, case: usize) -> impl Iterator<Item = usize> + '_ {
        self.global
            .iter()
            .chain(self.per_case[case].iter())
            .map(|(slot, _)| *slot)
    }
}

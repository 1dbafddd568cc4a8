//! The promotion ledger: append-only JSONL, one entry per approve, promote or rollback, each
//! carrying the hash of the entry before it, so an edited, deleted, inserted or reordered
//! entry breaks the chain. Appends hold an exclusive lock on a sidecar lock file (under
//! `.promptgate/`, so a refused promotion leaves the ledger itself untouched), and re-read
//! and re-verify the chain under it, so two writers cannot interleave.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Promote,
    Rollback,
}

/// The run a promotion rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub run_id: String,
    pub report_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    pub ts: String,
    pub actor: String,
    pub action: Action,
    pub prompt_id: String,
    pub version: String,
    pub env: String,
    pub previous_version: Option<String>,
    pub evidence: Option<Evidence>,
    pub approvals: Vec<String>,
    pub reason: Option<String>,
    /// The previous entry's hash; null for the first entry.
    pub prev_hash: Option<String>,
    pub hash: String,
}

impl Entry {
    /// sha256 of the canonical JSON of the entry without its `hash` field.
    pub fn compute_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("entries serialize");
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("hash");
        }
        digest::sha256_id(digest::canonical_json(&value).as_bytes())
    }
}

/// Why a ledger does not verify: the 1-based line of the first bad entry and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    pub line: usize,
    pub message: String,
}

/// Parses and verifies a whole ledger text: every entry's hash, and the chain.
pub fn parse(text: &str) -> std::result::Result<Vec<Entry>, Tampered> {
    parse_checked(text, true)
}

/// Parses a ledger checking the chain's structure (seq, prev_hash links) throughout but
/// recomputing only the last entry's hash: what every command but `ledger verify` does
/// before reading state or appending, so a ledger of 100,000 entries stays cheap to use.
/// An edit inside an older entry is `ledger verify`'s to find.
pub fn parse_tail(text: &str) -> std::result::Result<Vec<Entry>, Tampered> {
    parse_checked(text, false)
}

fn parse_checked(text: &str, every_hash: bool) -> std::result::Result<Vec<Entry>, Tampered> {
    let total = text.lines().count();
    let mut entries: Vec<Entry> = Vec::new();
    if !text.is_empty() && !text.ends_with('\n') {
        let line = text.lines().count();
        return Err(Tampered {
            line,
            message: "the last line is not terminated: the file was truncated or edited".into(),
        });
    }
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let entry: Entry = serde_json::from_str(raw).map_err(|e| Tampered {
            line,
            message: format!("not a ledger entry ({e}): the line was edited or inserted"),
        })?;
        let expected_seq = line as u64;
        if entry.seq != expected_seq {
            return Err(Tampered {
                line,
                message: format!(
                    "seq {} where {expected_seq} belongs: an entry was deleted, inserted or reordered",
                    entry.seq
                ),
            });
        }
        let expected_prev = entries.last().map(|e| e.hash.clone());
        if entry.prev_hash != expected_prev {
            return Err(Tampered {
                line,
                message: format!(
                    "seq {}: prev_hash does not match the hash of the entry before it: an entry was deleted, inserted or reordered",
                    entry.seq
                ),
            });
        }
        if (every_hash || line == total) && entry.compute_hash() != entry.hash {
            return Err(Tampered {
                line,
                message: format!(
                    "seq {}: the hash does not match the entry's content: the entry was edited",
                    entry.seq
                ),
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// What a ledger says now: live versions and approvals.
#[derive(Debug, Default)]
pub struct State {
    /// (prompt id, env) → the promote/rollback entries that set it, in order (indices).
    pub live: BTreeMap<(String, String), Vec<usize>>,
    /// (prompt id, version, env) → distinct approvers.
    pub approvals: BTreeMap<(String, String, String), BTreeSet<String>>,
}

impl State {
    pub fn of(entries: &[Entry]) -> State {
        let mut state = State::default();
        for (i, entry) in entries.iter().enumerate() {
            match entry.action {
                Action::Approve => {
                    state
                        .approvals
                        .entry((
                            entry.prompt_id.clone(),
                            entry.version.clone(),
                            entry.env.clone(),
                        ))
                        .or_default()
                        .insert(entry.actor.clone());
                }
                Action::Promote | Action::Rollback => state
                    .live
                    .entry((entry.prompt_id.clone(), entry.env.clone()))
                    .or_default()
                    .push(i),
            }
        }
        state
    }

    /// The entry that made the live version of `prompt_id` in `env`, if any.
    pub fn live_entry<'a>(
        &self,
        entries: &'a [Entry],
        prompt_id: &str,
        env: &str,
    ) -> Option<&'a Entry> {
        self.live
            .get(&(prompt_id.to_string(), env.to_string()))
            .and_then(|v| v.last())
            .map(|&i| &entries[i])
    }

    pub fn approvers(&self, prompt_id: &str, version: &str, env: &str) -> BTreeSet<String> {
        self.approvals
            .get(&(prompt_id.to_string(), version.to_string(), env.to_string()))
            .cloned()
            .unwrap_or_default()
    }
}

/// A ledger file. Reading it never creates it; appending does.
pub struct Ledger {
    pub path: PathBuf,
    /// The sidecar file every writer locks.
    pub lock_path: PathBuf,
}

/// The ledger read for appending, holding the exclusive lock until dropped.
pub struct Locked {
    _lock: File,
    path: PathBuf,
    pub entries: Vec<Entry>,
}

pub fn tampered_error(path: &Path, t: &Tampered) -> String {
    format!("ledger {}:{}: {}", path.display(), t.line, t.message)
}

impl Ledger {
    pub fn new(path: PathBuf, lock_path: PathBuf) -> Ledger {
        Ledger { path, lock_path }
    }

    /// The file's bytes; a missing file is an empty ledger.
    pub fn read_text(&self) -> Result<String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => crate::error::text_from_bytes(&self.path, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::unreadable(&self.path, &e)),
        }
    }

    /// Reads without locking (readers see only whole appended lines, since each entry is
    /// written with one write call), checking the chain's structure and its tail.
    pub fn load(&self) -> Result<std::result::Result<Vec<Entry>, Tampered>> {
        Ok(parse_tail(&self.read_text()?))
    }

    /// Takes the exclusive lock, then reads the ledger and re-verifies the chain's
    /// structure and tail before anything is appended.
    pub fn lock(&self) -> Result<std::result::Result<Locked, Tampered>> {
        if let Some(parent) = self.lock_path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::write_failed(parent, &e))?;
        }
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(|e| Error::write_failed(&self.lock_path, &e))?;
        // fs4 rather than `File::lock`, which is newer than the crate's minimum Rust.
        fs4::FileExt::lock(&lock).map_err(|e| {
            Error::infrastructure(format!("cannot lock {}: {e}", self.lock_path.display()))
        })?;
        let text = self.read_text()?;
        Ok(parse_tail(&text).map(|entries| Locked {
            _lock: lock,
            path: self.path.clone(),
            entries,
        }))
    }
}

/// The fields of a new entry; `seq`, `prev_hash` and `hash` are filled in on append.
pub struct NewEntry {
    pub actor: String,
    pub action: Action,
    pub prompt_id: String,
    pub version: String,
    pub env: String,
    pub previous_version: Option<String>,
    pub evidence: Option<Evidence>,
    pub approvals: Vec<String>,
    pub reason: Option<String>,
}

impl Locked {
    /// Appends one entry (one write, then fsync) and returns it.
    pub fn append(&mut self, new: NewEntry) -> Result<Entry> {
        let mut entry = Entry {
            seq: self.entries.len() as u64 + 1,
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            actor: new.actor,
            action: new.action,
            prompt_id: new.prompt_id,
            version: new.version,
            env: new.env,
            previous_version: new.previous_version,
            evidence: new.evidence,
            approvals: new.approvals,
            reason: new.reason,
            prev_hash: self.entries.last().map(|e| e.hash.clone()),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        let mut line = serde_json::to_string(&entry).expect("entries serialize");
        line.push('\n');
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::write_failed(parent, &e))?;
        }
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .and_then(|mut file| {
                file.write_all(line.as_bytes())?;
                file.sync_all()
            })
            .map_err(|e| Error::write_failed(&self.path, &e))?;
        self.entries.push(entry.clone());
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(n: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path().join("l.jsonl"), dir.path().join("l.lock"));
        let mut locked = ledger.lock().unwrap().unwrap();
        for i in 0..n {
            locked
                .append(NewEntry {
                    actor: format!("a{i}"),
                    action: Action::Promote,
                    prompt_id: "p".into(),
                    version: format!("sha256:{i}"),
                    env: "dev".into(),
                    previous_version: None,
                    evidence: None,
                    approvals: vec![],
                    reason: None,
                })
                .unwrap();
        }
        drop(locked);
        std::fs::read_to_string(dir.path().join("l.jsonl")).unwrap()
    }

    #[test]
    fn a_written_chain_verifies_and_tampering_is_caught() {
        let text = ledger(3);
        assert_eq!(parse(&text).unwrap().len(), 3);
        let lines: Vec<&str> = text.lines().collect();
        let edited = text.replace("\"a1\"", "\"mallory\"");
        assert_eq!(parse(&edited).unwrap_err().line, 2);
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        assert_eq!(parse(&deleted).unwrap_err().line, 2);
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        assert_eq!(parse(&swapped).unwrap_err().line, 2);
        assert_eq!(parse("").unwrap().len(), 0);
        assert_eq!(parse("{\n").unwrap_err().line, 1);
        // The cheap check sees structure everywhere but content only at the tail.
        assert!(parse_tail(&edited).is_ok());
        assert_eq!(parse_tail(&deleted).unwrap_err().line, 2);
        let tail_edit = text.replace("\"a2\"", "\"mallory\"");
        assert_eq!(parse_tail(&tail_edit).unwrap_err().line, 3);
    }
}

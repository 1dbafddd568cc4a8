//! The promotion ledger: append-only JSONL, one entry per approve, promote or rollback, each
//! carrying the hash of the entry before it, so an edited, deleted, inserted or reordered
//! entry breaks the chain. Appends hold an exclusive lock on a sidecar lock file (under
//! `.promptgate/`, so a refused promotion leaves the ledger itself untouched), and re-read
//! and re-verify the chain under it, so two writers cannot interleave.
//!
//! Commands read the ledger's state through an index beside the lock (see `index`): the
//! state as of a byte-exact prefix of the ledger, so a command on a ledger of 100,000 entries
//! parses only what was appended since the last one ran.

mod index;
mod state;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::digest;
use crate::error::{Error, Result};

pub use state::{EnvState, Live, PromptState, State};

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

/// An entry read in place: the same fields and the same strictness as `Entry`, without
/// allocating for strings that need no unescaping. Reading a whole ledger is mostly this.
// Some fields are read only so that a line must be a whole entry.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRef<'a> {
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    action: Action,
    #[serde(borrow)]
    prompt_id: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    env: Cow<'a, str>,
    #[serde(borrow)]
    previous_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    evidence: Option<EvidenceRef<'a>>,
    #[serde(borrow)]
    approvals: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    prev_hash: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct EvidenceRef<'a> {
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    #[serde(borrow)]
    report_sha256: Cow<'a, str>,
}

/// What an entry changes in the ledger's state.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub seq: u64,
    pub action: Action,
    pub prompt_id: &'a str,
    pub version: &'a str,
    pub env: &'a str,
    pub actor: &'a str,
    pub ts: &'a str,
}

impl Entry {
    pub fn change(&self) -> Change<'_> {
        Change {
            seq: self.seq,
            action: self.action,
            prompt_id: &self.prompt_id,
            version: &self.version,
            env: &self.env,
            actor: &self.actor,
            ts: &self.ts,
        }
    }
}

impl EntryRef<'_> {
    fn change(&self) -> Change<'_> {
        Change {
            seq: self.seq,
            action: self.action,
            prompt_id: &self.prompt_id,
            version: &self.version,
            env: &self.env,
            actor: &self.actor,
            ts: &self.ts,
        }
    }
}

/// Why a ledger does not verify: the 1-based line of the first bad entry and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    pub line: usize,
    pub message: String,
}

/// How far a chain has been read: the number of entries and the last one's hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub entries: u64,
    pub last_hash: Option<String>,
}

/// Which entries a read recomputes the hash of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hashes {
    Every,
    /// Only the last: links are checked throughout, content at the tail. What every command
    /// but `ledger verify` does when it has to read a whole ledger; an edit inside an older
    /// entry is `ledger verify`'s to find.
    Last,
}

impl Chain {
    /// Reads `text` — whole lines that follow the chain's last entry — checking each entry's
    /// seq and link (and hash, per `hashes`) and handing it to `each`. Returns where the last
    /// line starts in `text`.
    fn walk(
        &mut self,
        text: &str,
        hashes: Hashes,
        mut each: impl FnMut(Change<'_>),
    ) -> std::result::Result<Option<usize>, Tampered> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(Tampered {
                line: self.entries as usize + text.lines().count(),
                message: "the last line is not terminated: the file was truncated or edited".into(),
            });
        }
        let mut offset = 0;
        let mut last_start = None;
        let mut lines = text.split_inclusive('\n').peekable();
        while let Some(raw) = lines.next() {
            let is_last = lines.peek().is_none();
            let expected_seq = self.entries + 1;
            let line = expected_seq as usize;
            let entry: EntryRef = serde_json::from_str(raw).map_err(|e| Tampered {
                line,
                message: format!("not a ledger entry ({e}): the line was edited or inserted"),
            })?;
            if entry.seq != expected_seq {
                return Err(Tampered {
                    line,
                    message: format!(
                        "seq {} where {expected_seq} belongs: an entry was deleted, inserted or reordered",
                        entry.seq
                    ),
                });
            }
            if entry.prev_hash.as_deref() != self.last_hash.as_deref() {
                return Err(Tampered {
                    line,
                    message: format!(
                        "seq {}: prev_hash does not match the hash of the entry before it: an entry was deleted, inserted or reordered",
                        entry.seq
                    ),
                });
            }
            if (hashes == Hashes::Every || is_last) && !content_matches_hash(raw) {
                return Err(Tampered {
                    line,
                    message: format!(
                        "seq {}: the hash does not match the entry's content: the entry was edited",
                        entry.seq
                    ),
                });
            }
            self.entries = expected_seq;
            self.last_hash = Some(entry.hash.to_string());
            last_start = Some(offset);
            offset += raw.len();
            each(entry.change());
        }
        Ok(last_start)
    }
}

/// Whether a line that reads as an entry holds the hash of its own content.
fn content_matches_hash(raw: &str) -> bool {
    serde_json::from_str::<Entry>(raw).is_ok_and(|entry| entry.compute_hash() == entry.hash)
}

/// Verifies a whole ledger text — every entry's hash, and the chain — and counts its entries.
pub fn verify(text: &str) -> std::result::Result<u64, Tampered> {
    let mut chain = Chain::default();
    chain.walk(text, Hashes::Every, |_| ())?;
    Ok(chain.entries)
}

/// A ledger's state as read, and the extent of the ledger it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub chain: Chain,
    pub state: State,
    /// The ledger bytes read.
    bytes: u64,
    /// Where the last entry's line starts.
    last_line_at: u64,
}

impl Snapshot {
    /// Reads whole lines appended after what the snapshot covers.
    fn extend(&mut self, text: &str, hashes: Hashes) -> std::result::Result<(), Tampered> {
        let state = &mut self.state;
        if let Some(start) = self
            .chain
            .walk(text, hashes, |change| state.apply(change))?
        {
            self.last_line_at = self.bytes + start as u64;
        }
        self.bytes += text.len() as u64;
        Ok(())
    }
}

/// A ledger file. Reading it never creates it; appending does.
pub struct Ledger {
    pub path: PathBuf,
    /// The sidecar file every writer locks.
    lock_path: PathBuf,
    /// Where the state as of the last read is kept (a cache: see `index`).
    index_path: PathBuf,
}

/// The ledger read for appending, holding the exclusive lock until dropped.
pub struct Locked {
    _lock: File,
    path: PathBuf,
    index_path: PathBuf,
    snapshot: Snapshot,
    /// The fingerprint of the ledger bytes `snapshot` covers.
    covered: Xxh3,
}

pub fn tampered_error(path: &Path, t: &Tampered) -> String {
    format!("ledger {}:{}: {}", path.display(), t.line, t.message)
}

impl Ledger {
    /// A ledger at `path` whose lock and index live in `scratch` (the tool's own folder).
    pub fn new(path: PathBuf, scratch: &Path) -> Ledger {
        let name = path
            .file_name()
            .map_or_else(|| "ledger".into(), |n| n.to_string_lossy().into_owned());
        Ledger {
            lock_path: scratch.join(format!("{name}.lock")),
            index_path: scratch.join(format!("{name}.index.json")),
            path,
        }
    }

    /// The file's bytes; a missing file is an empty ledger.
    pub fn read_text(&self) -> Result<String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => crate::error::text_from_bytes(&self.path, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::unreadable(&self.path, &e)),
        }
    }

    /// The ledger's state, read without locking (readers see only whole appended lines,
    /// since each entry is written with one write call). While the index still covers a
    /// prefix of the ledger byte for byte, only the entries appended since are read (every one
    /// of their hashes checked); otherwise the whole ledger is — its links throughout and its
    /// last hash — and the index is rewritten.
    pub fn load(&self) -> Result<std::result::Result<Snapshot, Tampered>> {
        Ok(self.read()?.map(|(snapshot, _)| snapshot))
    }

    /// `load`, and the fingerprint of the bytes the snapshot covers (see `index`).
    fn read(&self) -> Result<std::result::Result<(Snapshot, Xxh3), Tampered>> {
        use std::io::{Read, Seek, SeekFrom};
        let unreadable = |e: std::io::Error| Error::unreadable(&self.path, &e);
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Ok((Snapshot::default(), Xxh3::new())));
            }
            Err(e) => return Err(unreadable(e)),
        };
        let len = file.metadata().map_err(unreadable)?.len();
        if let Some((mut snapshot, fingerprint)) = index::read(&self.index_path)
            && snapshot.bytes <= len
            && let Some(mut covered) =
                index::fingerprint(&mut file, snapshot.bytes).map_err(unreadable)?
            && index::matches(&covered, &fingerprint)
        {
            let mut tail = Vec::new();
            file.read_to_end(&mut tail).map_err(unreadable)?;
            // Bytes that are not UTF-8 are left to the whole read below, which names their line.
            if let Ok(text) = String::from_utf8(tail) {
                if !text.is_empty() {
                    if let Err(t) = snapshot.extend(&text, Hashes::Every) {
                        return Ok(Err(t));
                    }
                    covered.update(text.as_bytes());
                    index::write(&self.index_path, &snapshot, &covered);
                }
                return Ok(Ok((snapshot, covered)));
            }
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(unreadable)?;
        let mut covered = Xxh3::new();
        covered.update(&bytes);
        let text = crate::error::text_from_bytes(&self.path, bytes)?;
        let mut snapshot = Snapshot::default();
        if let Err(t) = snapshot.extend(&text, Hashes::Last) {
            return Ok(Err(t));
        }
        index::write(&self.index_path, &snapshot, &covered);
        Ok(Ok((snapshot, covered)))
    }

    /// Takes the exclusive lock, then reads the ledger's state (see `load`) before anything
    /// is appended.
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
        lock.lock().map_err(|e| {
            Error::infrastructure(format!("cannot lock {}: {e}", self.lock_path.display()))
        })?;
        Ok(self.read()?.map(|(snapshot, covered)| Locked {
            _lock: lock,
            path: self.path.clone(),
            index_path: self.index_path.clone(),
            snapshot,
            covered,
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
    pub fn state(&self) -> &State {
        &self.snapshot.state
    }

    /// Appends one entry (one write, then fsync), brings the index up to date and returns
    /// the entry.
    pub fn append(&mut self, new: NewEntry) -> Result<Entry> {
        let mut entry = Entry {
            seq: self.snapshot.chain.entries + 1,
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
            prev_hash: self.snapshot.chain.last_hash.clone(),
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
        let snapshot = &mut self.snapshot;
        snapshot.state.apply(entry.change());
        snapshot.chain.entries = entry.seq;
        snapshot.chain.last_hash = Some(entry.hash.clone());
        snapshot.last_line_at = snapshot.bytes;
        snapshot.bytes += line.len() as u64;
        self.covered.update(line.as_bytes());
        index::write(&self.index_path, snapshot, &self.covered);
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_entry(i: usize, action: Action, env: &str) -> NewEntry {
        NewEntry {
            actor: format!("a{i}"),
            action,
            prompt_id: "p".into(),
            version: format!("sha256:{}", i % 4),
            env: env.into(),
            previous_version: None,
            evidence: None,
            approvals: vec![],
            reason: None,
        }
    }

    fn append(ledger: &Ledger, from: usize, to: usize) {
        let mut locked = ledger.lock().unwrap().unwrap();
        for i in from..to {
            let action = [Action::Promote, Action::Approve, Action::Rollback][i % 3];
            let env = ["dev", "prod"][i % 2];
            locked.append(new_entry(i, action, env)).unwrap();
        }
    }

    fn ledger_in(dir: &Path) -> Ledger {
        Ledger::new(dir.join("l.jsonl"), &dir.join("scratch"))
    }

    fn ledger(n: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        append(&ledger_in(dir.path()), 0, n);
        std::fs::read_to_string(dir.path().join("l.jsonl")).unwrap()
    }

    /// The state a full read of the ledger gives, index or not.
    fn read_whole(ledger: &Ledger) -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot
            .extend(&ledger.read_text().unwrap(), Hashes::Last)
            .unwrap();
        snapshot
    }

    fn structure(text: &str) -> std::result::Result<u64, Tampered> {
        let mut chain = Chain::default();
        chain.walk(text, Hashes::Last, |_| ())?;
        Ok(chain.entries)
    }

    #[test]
    fn a_written_chain_verifies_and_tampering_is_caught() {
        let text = ledger(3);
        assert_eq!(verify(&text).unwrap(), 3);
        let lines: Vec<&str> = text.lines().collect();
        let edited = text.replace("\"a1\"", "\"mallory\"");
        assert_eq!(verify(&edited).unwrap_err().line, 2);
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        assert_eq!(verify(&deleted).unwrap_err().line, 2);
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        assert_eq!(verify(&swapped).unwrap_err().line, 2);
        assert_eq!(verify("").unwrap(), 0);
        assert_eq!(verify("{\n").unwrap_err().line, 1);
        assert_eq!(verify(&text[..text.len() - 1]).unwrap_err().line, 3);
        // The cheap check sees structure everywhere but content only at the tail.
        assert!(structure(&edited).is_ok());
        assert_eq!(structure(&deleted).unwrap_err().line, 2);
        let tail_edit = text.replace("\"a2\"", "\"mallory\"");
        assert_eq!(structure(&tail_edit).unwrap_err().line, 3);
    }

    #[test]
    fn the_index_brings_the_state_up_to_date_with_appended_entries() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path());
        assert_eq!(ledger.load().unwrap().unwrap(), Snapshot::default());
        append(&ledger, 0, 7);
        let indexed = index::read(&ledger.index_path).unwrap().0;
        assert_eq!(indexed, read_whole(&ledger));
        // Appended by another copy of the ledger (a pull): read from where the index ends.
        let other = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("l.jsonl"), other.path().join("l.jsonl")).unwrap();
        append(&ledger_in(other.path()), 7, 12);
        std::fs::copy(other.path().join("l.jsonl"), dir.path().join("l.jsonl")).unwrap();
        let loaded = ledger.load().unwrap().unwrap();
        assert_eq!(loaded.chain.entries, 12);
        assert_eq!(loaded, read_whole(&ledger));
        assert_eq!(index::read(&ledger.index_path).unwrap().0, loaded);
    }

    #[test]
    fn an_index_that_does_not_describe_the_ledger_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path());
        append(&ledger, 0, 6);
        let stale = std::fs::read(&ledger.index_path).unwrap();
        // A ledger rewritten from scratch, shorter and longer than the indexed one.
        for n in [4, 9] {
            std::fs::remove_file(&ledger.path).unwrap();
            std::fs::remove_file(&ledger.index_path).unwrap();
            let mut locked = ledger.lock().unwrap().unwrap();
            for i in 0..n {
                locked
                    .append(new_entry(i + 100, Action::Promote, "dev"))
                    .unwrap();
            }
            drop(locked);
            std::fs::write(&ledger.index_path, &stale).unwrap();
            let loaded = ledger.load().unwrap().unwrap();
            assert_eq!(loaded.chain.entries, n as u64);
            assert_eq!(loaded, read_whole(&ledger));
        }
        // An unreadable or inconsistent index is ignored.
        for junk in ["", "{", "{\"format\":1}", "[1,2]"] {
            std::fs::write(&ledger.index_path, junk).unwrap();
            assert_eq!(ledger.load().unwrap().unwrap(), read_whole(&ledger));
        }
        // Two entries of the same length swapped inside the indexed part: the fingerprint
        // differs, so the whole ledger is read and its links checked.
        std::fs::remove_file(&ledger.path).unwrap();
        append(&ledger, 0, 4);
        let text = ledger.read_text().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1].len(), lines[2].len());
        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
        std::fs::write(&ledger.path, swapped).unwrap();
        let t = ledger.load().unwrap().unwrap_err();
        assert_eq!(t.line, 2, "{}", t.message);
        // A deleted ledger is an empty one, whatever the index says.
        std::fs::remove_file(&ledger.path).unwrap();
        assert_eq!(ledger.load().unwrap().unwrap(), Snapshot::default());
    }

    #[test]
    fn entries_appended_after_the_index_have_every_hash_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path());
        append(&ledger, 0, 3);
        let indexed = std::fs::read(&ledger.index_path).unwrap();
        append(&ledger, 3, 6);
        std::fs::write(&ledger.index_path, &indexed).unwrap();
        let text = ledger.read_text().unwrap();
        // An edit in entry 4 (not the last): a whole read checks only the last hash.
        std::fs::write(&ledger.path, text.replace("\"a3\"", "\"mo\"")).unwrap();
        let t = ledger.load().unwrap().unwrap_err();
        assert_eq!(t.line, 4);
        assert!(t.message.contains("edited"), "{}", t.message);
        // A torn line after the indexed part.
        std::fs::write(&ledger.index_path, &indexed).unwrap();
        std::fs::write(&ledger.path, &text[..text.len() - 2]).unwrap();
        assert_eq!(ledger.load().unwrap().unwrap_err().line, 6);
    }
}

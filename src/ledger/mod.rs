//! The promotion ledger: append-only JSONL, one entry per approve, promote, canary or rollback, each
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
use std::ops::Not;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest;
use crate::error::{Error, Result};

pub use state::{Canary, EnvState, Live, PromptState, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Promote,
    Rollback,
    /// A share of an environment's traffic served to a version not live there; percent 0
    /// ends it.
    Canary,
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
    /// The share of traffic a canary entry gives its version (0 ends the canary); absent
    /// on every other entry, so entries written before canaries hash as they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
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
        Hashed {
            action: self.action,
            actor: &self.actor,
            approvals: &self.approvals,
            env: &self.env,
            evidence: self.evidence.as_ref().map(|e| HashedEvidence {
                report_sha256: &e.report_sha256,
                run_id: &e.run_id,
            }),
            percent: self.percent,
            prev_hash: self.prev_hash.as_deref(),
            previous_version: self.previous_version.as_deref(),
            prompt_id: &self.prompt_id,
            reason: self.reason.as_deref(),
            seq: self.seq,
            ts: &self.ts,
            version: &self.version,
        }
        .hash()
    }

    pub fn change(&self) -> Change<'_> {
        Change {
            seq: self.seq,
            at: 0,
            action: self.action,
            prompt_id: &self.prompt_id,
            version: &self.version,
            env: &self.env,
            actor: &self.actor,
            ts: &self.ts,
            previous_version: self.previous_version.as_deref(),
            approvals: self.approvals.iter().map(String::as_str).collect(),
            percent: self.percent,
        }
    }
}

/// What an entry's hash covers — every field but `hash` — with the fields in the byte order
/// of their names, so that serde_json's compact output is the entry's canonical JSON
/// (`digest::canonical_json`) without building a `Value` for every line. A unit test holds
/// the two to the same bytes.
#[derive(Serialize)]
struct Hashed<'a, S: Serialize> {
    action: Action,
    actor: &'a str,
    approvals: &'a [S],
    env: &'a str,
    evidence: Option<HashedEvidence<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<u8>,
    prev_hash: Option<&'a str>,
    previous_version: Option<&'a str>,
    prompt_id: &'a str,
    reason: Option<&'a str>,
    seq: u64,
    ts: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct HashedEvidence<'a> {
    report_sha256: &'a str,
    run_id: &'a str,
}

impl<S: Serialize> Hashed<'_, S> {
    fn hash(&self) -> String {
        let mut json = Vec::with_capacity(512);
        serde_json::to_writer(&mut json, self).expect("entries serialize");
        digest::sha256_id(&json)
    }
}

/// An entry read in place: the same fields and the same strictness as `Entry`, without
/// allocating for strings that need no unescaping. Reading a whole ledger is mostly this.
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
    #[serde(default)]
    percent: Option<u8>,
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
struct EvidenceRef<'a> {
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    #[serde(borrow)]
    report_sha256: Cow<'a, str>,
}

/// What an entry says, as the ledger's state is checked against it and folded from it.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub seq: u64,
    /// Where the entry's line starts in the ledger file.
    pub at: u64,
    pub action: Action,
    pub prompt_id: &'a str,
    pub version: &'a str,
    pub env: &'a str,
    pub actor: &'a str,
    pub ts: &'a str,
    pub previous_version: Option<&'a str>,
    pub approvals: Vec<&'a str>,
    pub percent: Option<u8>,
}

impl EntryRef<'_> {
    fn compute_hash(&self) -> String {
        Hashed {
            action: self.action,
            actor: &self.actor,
            approvals: &self.approvals,
            env: &self.env,
            evidence: self.evidence.as_ref().map(|e| HashedEvidence {
                report_sha256: &e.report_sha256,
                run_id: &e.run_id,
            }),
            percent: self.percent,
            prev_hash: self.prev_hash.as_deref(),
            previous_version: self.previous_version.as_deref(),
            prompt_id: &self.prompt_id,
            reason: self.reason.as_deref(),
            seq: self.seq,
            ts: &self.ts,
            version: &self.version,
        }
        .hash()
    }

    fn change(&self) -> Change<'_> {
        Change {
            seq: self.seq,
            at: 0,
            action: self.action,
            prompt_id: &self.prompt_id,
            version: &self.version,
            env: &self.env,
            actor: &self.actor,
            ts: &self.ts,
            previous_version: self.previous_version.as_deref(),
            approvals: self.approvals.iter().map(|a| a.as_ref()).collect(),
            percent: self.percent,
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

impl Chain {
    /// Reads `text` — whole lines that follow the chain's last entry — checking each entry's
    /// seq, link and hash, then handing what it says to `each`, which may refuse it. Returns
    /// where the last line starts in `text`.
    fn walk(
        &mut self,
        text: &str,
        base: u64,
        mut each: impl FnMut(&Change<'_>) -> std::result::Result<(), String>,
    ) -> std::result::Result<Option<usize>, Tampered> {
        let line_of = |seq: u64| usize::try_from(seq).unwrap_or(usize::MAX);
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(Tampered {
                line: line_of(self.entries).saturating_add(text.lines().count()),
                message: "the last line is not terminated: the file was truncated or edited".into(),
            });
        }
        let mut offset = 0;
        let mut last_start = None;
        for raw in text.split_inclusive('\n') {
            let Some(expected_seq) = self.entries.checked_add(1) else {
                return Err(Tampered {
                    line: usize::MAX,
                    message: "more entries than a ledger can count".into(),
                });
            };
            let line = line_of(expected_seq);
            let tampered = |message: String| Tampered { line, message };
            let entry: EntryRef = serde_json::from_str(raw).map_err(|e| {
                tampered(format!(
                    "not a ledger entry ({e}): the line was edited or inserted"
                ))
            })?;
            if entry.seq != expected_seq {
                return Err(tampered(format!(
                    "seq {} where {expected_seq} belongs: an entry was deleted, inserted or reordered",
                    entry.seq
                )));
            }
            if entry.prev_hash.as_deref() != self.last_hash.as_deref() {
                return Err(tampered(format!(
                    "seq {}: prev_hash does not match the hash of the entry before it: an entry was deleted, inserted or reordered",
                    entry.seq
                )));
            }
            if entry.compute_hash() != entry.hash {
                return Err(tampered(format!(
                    "seq {}: the hash does not match the entry's content: the entry was edited",
                    entry.seq
                )));
            }
            let mut change = entry.change();
            change.at = base + offset as u64;
            each(&change).map_err(|why| {
                tampered(format!(
                    "seq {}: {why}: the entry does not follow from the ones before it (written by hand, or from a forged state index)",
                    entry.seq
                ))
            })?;
            self.entries = expected_seq;
            self.last_hash = Some(entry.hash.into_owned());
            last_start = Some(offset);
            offset += raw.len();
        }
        Ok(last_start)
    }
}

/// Verifies a whole ledger text — every entry's hash, the chain, and that every entry follows
/// from the ones before it — and counts its entries.
pub fn verify(text: &str) -> std::result::Result<u64, Tampered> {
    let mut snapshot = Snapshot::default();
    snapshot.extend(text)?;
    Ok(snapshot.chain.entries)
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
    fn extend(&mut self, text: &str) -> std::result::Result<(), Tampered> {
        let state = &mut self.state;
        let each = |change: &Change<'_>| {
            state.check(change)?;
            state.apply(change);
            Ok(())
        };
        if let Some(start) = self.chain.walk(text, self.bytes, each)? {
            self.last_line_at = self.bytes + start as u64;
        }
        self.bytes += text.len() as u64;
        Ok(())
    }
}

/// How much of the ledger a command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Only what was appended since the state index was written, when it still applies.
    Indexed,
    /// All of it, whatever the index says: for decisions that must not rest on a cache
    /// (a forged index could claim approvals the ledger does not hold).
    Whole,
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
    /// What the index knows of the ledger bytes `snapshot` covers.
    coverage: index::Coverage,
}

/// The entry whose line starts at byte `at` of the ledger, if a whole entry, whose hash
/// matches its content, starts there.
fn entry_at(file: &mut File, at: u64) -> std::io::Result<Option<Entry>> {
    use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(at.saturating_sub(1)))?;
    let mut reader = BufReader::new(file);
    if at > 0 {
        let mut byte = [0u8];
        if reader.read_exact(&mut byte).is_err() || byte[0] != b'\n' {
            return Ok(None);
        }
    }
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    let Some(body) = line.strip_suffix(b"\n") else {
        return Ok(None);
    };
    let Ok(entry) = serde_json::from_slice::<Entry>(body) else {
        return Ok(None);
    };
    Ok((entry.compute_hash() == entry.hash).then_some(entry))
}

/// The first thing `state` says of the prompts and environments in `which` (and of `also`,
/// versions once live there) that the ledger at `path` does not back, naming the index.
fn unbacked_in(
    path: &Path,
    index_path: &Path,
    state: &State,
    which: &[(&str, &str)],
    also: &[&str],
) -> Result<Option<String>> {
    if which.is_empty() {
        return Ok(None);
    }
    let unreadable = |e: std::io::Error| Error::unreadable(path, &e);
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(state.prompts.is_empty().not().then(|| {
                format!(
                    "the state index {} describes a ledger that does not exist",
                    index_path.display()
                )
            }));
        }
        Err(e) => return Err(unreadable(e)),
    };
    for (prompt_id, env) in which {
        if let Some(why) = state
            .unbacked(prompt_id, env, also, |at| entry_at(&mut file, at))
            .map_err(unreadable)?
        {
            return Ok(Some(format!(
                "the state index {} does not match the ledger: {why}",
                index_path.display()
            )));
        }
    }
    Ok(None)
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
    /// since each entry is written with one write call). Every entry read is checked: its
    /// seq, its link, its hash, and that it follows from the entries before it. While the
    /// index still covers a prefix of the ledger byte for byte, only the entries appended
    /// since are read; otherwise the whole ledger is, and the index is rewritten.
    pub fn load(&self) -> Result<std::result::Result<Snapshot, Tampered>> {
        Ok(self.read(Reading::Indexed)?.map(|(snapshot, _)| snapshot))
    }

    /// `load`, reading the whole ledger when `reading` says so.
    pub fn load_reading(
        &self,
        reading: Reading,
    ) -> Result<std::result::Result<Snapshot, Tampered>> {
        Ok(self.read(reading)?.map(|(snapshot, _)| snapshot))
    }

    /// The state index's path.
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// What `state` (read through the index) says of the prompts and environments in
    /// `which` that the ledger does not back, checked against the entries the index names
    /// (see `State::unbacked`); `None` when the ledger backs all of it.
    pub fn unbacked(
        &self,
        state: &State,
        which: &[(&str, &str)],
        also: &[&str],
    ) -> Result<Option<String>> {
        unbacked_in(&self.path, &self.index_path, state, which, also)
    }

    /// `load`, and the coverage of the bytes the snapshot covers (see `index`).
    fn read(
        &self,
        reading: Reading,
    ) -> Result<std::result::Result<(Snapshot, index::Coverage), Tampered>> {
        use std::io::{Read, Seek, SeekFrom};
        let unreadable = |e: std::io::Error| Error::unreadable(&self.path, &e);
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Ok((Snapshot::default(), index::Coverage::default())));
            }
            Err(e) => return Err(unreadable(e)),
        };
        let meta = file.metadata().map_err(unreadable)?;
        let (len, stamp) = (meta.len(), index::Stamp::of(&meta));
        if reading == Reading::Indexed
            && let Some((mut snapshot, coverage)) = index::read(&self.index_path)
            && snapshot.bytes <= len
            && index::ends_where_it_says(&mut file, &snapshot).map_err(unreadable)?
        {
            if coverage.unchanged(stamp) {
                return Ok(Ok((snapshot, coverage)));
            }
            if coverage
                .matches(&mut file, snapshot.bytes)
                .map_err(unreadable)?
            {
                let mut tail = Vec::new();
                file.read_to_end(&mut tail).map_err(unreadable)?;
                // Bytes that are not UTF-8 are left to the whole read below, which names
                // their line.
                if let Ok(text) = String::from_utf8(tail) {
                    let covered = snapshot.bytes;
                    if let Err(t) = snapshot.extend(&text) {
                        return Ok(Err(t));
                    }
                    let coverage = coverage
                        .extended(&mut file, covered, text.as_bytes(), stamp)
                        .map_err(unreadable)?;
                    index::write(&self.index_path, &snapshot, &coverage);
                    return Ok(Ok((snapshot, coverage)));
                }
            }
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(unreadable)?;
        let coverage = index::Coverage::of(&bytes, stamp);
        let text = crate::error::text_from_bytes(&self.path, bytes)?;
        let mut snapshot = Snapshot::default();
        if let Err(t) = snapshot.extend(&text) {
            return Ok(Err(t));
        }
        index::write(&self.index_path, &snapshot, &coverage);
        Ok(Ok((snapshot, coverage)))
    }

    /// Takes the exclusive lock, then reads the ledger's state (see `load`) before anything
    /// is appended.
    pub fn lock(&self, reading: Reading) -> Result<std::result::Result<Locked, Tampered>> {
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
        Ok(self.read(reading)?.map(|(snapshot, coverage)| Locked {
            _lock: lock,
            path: self.path.clone(),
            index_path: self.index_path.clone(),
            snapshot,
            coverage,
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
    pub percent: Option<u8>,
    pub previous_version: Option<String>,
    pub evidence: Option<Evidence>,
    pub approvals: Vec<String>,
    pub reason: Option<String>,
}

impl Locked {
    pub fn state(&self) -> &State {
        &self.snapshot.state
    }

    /// `Ledger::unbacked` on the state read under the lock.
    pub fn unbacked(&self, which: &[(&str, &str)], also: &[&str]) -> Result<Option<String>> {
        unbacked_in(
            &self.path,
            &self.index_path,
            &self.snapshot.state,
            which,
            also,
        )
    }

    /// Appends one entry (one write, then fsync), brings the index up to date and returns
    /// the entry.
    pub fn append(&mut self, new: NewEntry) -> Result<Entry> {
        let seq = self.snapshot.chain.entries.checked_add(1).ok_or_else(|| {
            Error::infrastructure(format!(
                "ledger {} cannot count another entry",
                self.path.display()
            ))
        })?;
        let mut entry = Entry {
            seq,
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            actor: new.actor,
            action: new.action,
            prompt_id: new.prompt_id,
            version: new.version,
            env: new.env,
            percent: new.percent,
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
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .and_then(|mut file| {
                file.write_all(line.as_bytes())?;
                file.sync_all()?;
                Ok(file)
            })
            .map_err(|e| Error::write_failed(&self.path, &e))?;
        let covered = self.snapshot.bytes;
        let snapshot = &mut self.snapshot;
        let mut change = entry.change();
        change.at = covered;
        snapshot.state.apply(&change);
        snapshot.chain.entries = entry.seq;
        snapshot.chain.last_hash = Some(entry.hash.clone());
        snapshot.last_line_at = covered;
        snapshot.bytes += line.len() as u64;
        // The index follows when the ledger can be read back; else the old one still
        // covers a prefix of it.
        let stamp = file.metadata().ok().and_then(|m| index::Stamp::of(&m));
        if let Ok(coverage) = self
            .coverage
            .extended(&mut file, covered, line.as_bytes(), stamp)
        {
            index::write(&self.index_path, snapshot, &coverage);
            self.coverage = coverage;
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends entries `from..to`: promotions, approvals and rollbacks of one prompt in two
    /// environments, each written from the state before it, as the commands do.
    fn append(ledger: &Ledger, from: usize, to: usize) {
        let mut locked = ledger.lock(Reading::Indexed).unwrap().unwrap();
        for i in from..to {
            let env = ["dev", "prod"][i % 2];
            let state = locked.state();
            let live = state.live_version("p", env).map(str::to_string);
            let fresh = format!("sha256:{}", i % 4);
            let (action, version) = match (i % 3, state.ever_live("p", env).first()) {
                (1, _) => (Action::Approve, fresh),
                (2, Some(earlier)) => (Action::Rollback, earlier.to_string()),
                _ => (Action::Promote, fresh),
            };
            locked
                .append(NewEntry {
                    actor: format!("a{i}"),
                    action,
                    prompt_id: "p".into(),
                    version,
                    env: env.into(),
                    percent: None,
                    previous_version: live,
                    evidence: None,
                    approvals: vec![],
                    reason: None,
                })
                .unwrap();
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
        snapshot.extend(&ledger.read_text().unwrap()).unwrap();
        snapshot
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_canonical_json() {
        let mut entry = Entry {
            seq: 7,
            ts: "2026-11-26T12:00:00.000Z".into(),
            actor: "Zoë \"z\" <z@example.com>\t\u{202e}".into(),
            action: Action::Promote,
            prompt_id: "support/assistant".into(),
            version: "sha256:ab".into(),
            env: "prod".into(),
            percent: Some(10),
            previous_version: Some("sha256:cd".into()),
            evidence: Some(Evidence {
                run_id: "r\\1".into(),
                report_sha256: "sha256:ef".into(),
            }),
            approvals: vec!["x".into(), "ÿ\n".into()],
            reason: Some("line\nbreak \u{1}".into()),
            prev_hash: Some("sha256:01".into()),
            hash: String::new(),
        };
        for round in 0..3 {
            if round == 1 {
                entry.previous_version = None;
                entry.percent = None;
                entry.evidence = None;
                entry.reason = None;
                entry.approvals.clear();
            }
            if round == 2 {
                entry.prev_hash = None;
                entry.action = Action::Rollback;
            }
            let mut value = serde_json::to_value(&entry).unwrap();
            value.as_object_mut().unwrap().remove("hash");
            let expected = digest::sha256_id(digest::canonical_json(&value).as_bytes());
            assert_eq!(entry.compute_hash(), expected, "round {round}");
            let line = serde_json::to_string(&entry).unwrap();
            let read: EntryRef = serde_json::from_str(&line).unwrap();
            assert_eq!(
                read.compute_hash(),
                expected,
                "round {round}, read in place"
            );
        }
    }

    #[test]
    fn a_written_chain_verifies_and_tampering_is_caught() {
        let text = ledger(6);
        assert_eq!(verify(&text).unwrap(), 6);
        let lines: Vec<&str> = text.lines().collect();
        let edited = text.replace("\"a1\"", "\"mallory\"");
        assert_eq!(verify(&edited).unwrap_err().line, 2);
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        assert_eq!(verify(&deleted).unwrap_err().line, 2);
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        assert_eq!(verify(&swapped).unwrap_err().line, 2);
        assert_eq!(verify("").unwrap(), 0);
        assert_eq!(verify("{\n").unwrap_err().line, 1);
        assert_eq!(verify(&text[..text.len() - 1]).unwrap_err().line, 6);
    }

    /// A chain whose hashes are all recomputed, so only what entries say can be wrong.
    fn rechained(entries: &mut [Entry]) -> String {
        let mut prev = None;
        let mut text = String::new();
        for entry in entries {
            entry.prev_hash = prev;
            entry.hash = entry.compute_hash();
            prev = Some(entry.hash.clone());
            text.push_str(&serde_json::to_string(entry).unwrap());
            text.push('\n');
        }
        text
    }

    #[test]
    fn entries_must_follow_from_the_ones_before_them() {
        let text = ledger(9);
        let entries: Vec<Entry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(verify(&rechained(&mut entries.clone())).unwrap(), 9);
        let message = |edit: &dyn Fn(&mut Vec<Entry>)| {
            let mut forged = entries.clone();
            edit(&mut forged);
            verify(&rechained(&mut forged)).unwrap_err()
        };
        // An entry that says something else was live before it.
        let t = message(&|e| e[2].previous_version = Some("sha256:9".into()));
        assert_eq!(t.line, 3);
        assert!(
            t.message.contains("records sha256:9 as live"),
            "{}",
            t.message
        );
        // A promotion counting an approval nobody recorded, or the promoter's own.
        let t = message(&|e| e[3].approvals = vec!["mallory".into()]);
        assert!(t.message.contains("approval by mallory"), "{}", t.message);
        let t = message(&|e| {
            e[3].approvals = vec![e[3].actor.clone()];
        });
        assert!(t.message.contains("approval by a3"), "{}", t.message);
        // A rollback to a version never live there.
        let rollback = entries
            .iter()
            .position(|e| e.action == Action::Rollback)
            .unwrap();
        let t = message(&|e| e[rollback].version = "sha256:never".into());
        assert_eq!(t.line, rollback + 1);
        assert!(t.message.contains("never live"), "{}", t.message);
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
            append(&ledger, 100, 100 + n);
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
        // An index whose entry count was edited (its fingerprint still right) is not trusted.
        let (mut snapshot, coverage) = ledger.read(Reading::Whole).unwrap().unwrap();
        snapshot.chain.entries += 5;
        index::write(&ledger.index_path, &snapshot, &coverage);
        assert_eq!(ledger.load().unwrap().unwrap(), read_whole(&ledger));
        // An edit inside the indexed part that keeps every offset: the fingerprint differs,
        // so the whole ledger is read, every hash checked.
        ledger.load().unwrap().unwrap();
        let text = ledger.read_text().unwrap();
        std::fs::write(&ledger.path, text.replacen("\"a101\"", "\"b101\"", 1)).unwrap();
        let t = ledger.load().unwrap().unwrap_err();
        assert_eq!(t.line, 2, "{}", t.message);
        assert!(t.message.contains("edited"), "{}", t.message);
        // A deleted ledger is an empty one, whatever the index says.
        std::fs::remove_file(&ledger.path).unwrap();
        assert_eq!(ledger.load().unwrap().unwrap(), Snapshot::default());
    }

    #[test]
    fn entries_appended_after_the_index_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path());
        append(&ledger, 0, 3);
        let indexed = std::fs::read(&ledger.index_path).unwrap();
        append(&ledger, 3, 6);
        std::fs::write(&ledger.index_path, &indexed).unwrap();
        let text = ledger.read_text().unwrap();
        std::fs::write(&ledger.path, text.replace("\"a3\"", "\"mo\"")).unwrap();
        let t = ledger.load().unwrap().unwrap_err();
        assert_eq!(t.line, 4);
        assert!(t.message.contains("edited"), "{}", t.message);
        // A torn line after the indexed part.
        std::fs::write(&ledger.index_path, &indexed).unwrap();
        std::fs::write(&ledger.path, &text[..text.len() - 2]).unwrap();
        assert_eq!(ledger.load().unwrap().unwrap_err().line, 6);
    }

    #[test]
    fn reading_creates_no_folder() {
        let dir = tempfile::tempdir().unwrap();
        append(&ledger_in(dir.path()), 0, 2);
        std::fs::remove_dir_all(dir.path().join("scratch")).unwrap();
        let ledger = ledger_in(dir.path());
        assert_eq!(ledger.load().unwrap().unwrap().chain.entries, 2);
        assert!(!dir.path().join("scratch").exists());
    }
}

//! The ledger's state kept beside it, so commands on a long ledger read only what was
//! appended since the last one ran.
//!
//! The index is a cache, never evidence. It records how many ledger bytes it covers and a
//! fingerprint (XXH3-128) of exactly those bytes, and is trusted only while the ledger still
//! begins with them: then the appended entries are all that needs reading, and each of their
//! hashes is checked. Anything else — a missing, unreadable, foreign or inconsistent index, a
//! ledger edited anywhere, shortened or rewritten — means a full read and a fresh index. The
//! fingerprint only has to tell "the same bytes" from "other bytes", not resist forgery:
//! whoever can write the index can write the ledger, which is why `ledger verify` never uses
//! it. Writing it is best effort: a read-only checkout still works, without the shortcut.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::Snapshot;

/// Bumped whenever `Snapshot`'s shape or meaning changes, so an old index is rebuilt.
const FORMAT: u32 = 1;

/// How much of the ledger is read at a time while fingerprinting it.
const CHUNK: usize = 1 << 20;

#[derive(Serialize)]
struct IndexOut<'a> {
    format: u32,
    fingerprint: String,
    snapshot: &'a Snapshot,
}

#[derive(Deserialize)]
struct IndexIn {
    format: u32,
    fingerprint: String,
    snapshot: Snapshot,
}

fn hex(hasher: &Xxh3) -> String {
    format!("{:032x}", hasher.digest128())
}

/// The snapshot an index holds and the fingerprint of the bytes it covers, if the index is
/// readable, current in format and self-consistent.
pub(super) fn read(path: &Path) -> Option<(Snapshot, String)> {
    let bytes = std::fs::read(path).ok()?;
    let index: IndexIn = serde_json::from_slice(&bytes).ok()?;
    let s = &index.snapshot;
    let extent_ok = if s.chain.entries == 0 {
        s.bytes == 0 && s.chain.last_hash.is_none() && s.state.prompts.is_empty()
    } else {
        s.last_line_at < s.bytes && s.chain.last_hash.is_some()
    };
    (index.format == FORMAT && extent_ok && s.state.is_consistent())
        .then_some((index.snapshot, index.fingerprint))
}

/// Reads the first `bytes` bytes of `ledger` (from where it stands) into a fingerprint;
/// `None` when the file is shorter.
pub(super) fn fingerprint(ledger: &mut File, bytes: u64) -> std::io::Result<Option<Xxh3>> {
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0; CHUNK.min(bytes as usize)];
    let mut left = bytes;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = ledger.read(&mut buffer[..want])?;
        if n == 0 {
            return Ok(None);
        }
        hasher.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(Some(hasher))
}

pub(super) fn matches(hasher: &Xxh3, fingerprint: &str) -> bool {
    hex(hasher) == fingerprint
}

/// Writes the index: the snapshot and the fingerprint of the ledger bytes it covers (a
/// temporary file renamed into place, so a reader never sees half of one). Failures are
/// ignored: the next command reads the whole ledger instead.
pub(super) fn write(path: &Path, snapshot: &Snapshot, covered: &Xxh3) {
    let Some(dir) = path.parent() else {
        return;
    };
    let Ok(mut text) = serde_json::to_vec(&IndexOut {
        format: FORMAT,
        fingerprint: hex(covered),
        snapshot,
    }) else {
        return;
    };
    text.push(b'\n');
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, &text))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

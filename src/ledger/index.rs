//! The ledger's state kept beside it, so commands on a long ledger read only what was
//! appended since the last one ran.
//!
//! The index is a cache, never evidence. It records how many ledger bytes it covers, a
//! fingerprint of exactly those bytes (XXH3-128 of each 1 MiB block and of the rest, so an
//! append re-hashes at most one block), and the ledger file's metadata when it held exactly
//! those bytes. It is trusted only while the ledger still holds, where the index says, the
//! entry the index ends with, and either the file's metadata is unchanged (size, inode,
//! modification and change times: nothing wrote to it, and the change time cannot be set by
//! hand) or the ledger still begins with the fingerprinted bytes. Then only appended entries
//! are read, each fully checked. Anything else — a missing, unreadable, foreign or
//! inconsistent index, a ledger edited anywhere, shortened or rewritten — means a full read
//! and a fresh index.
//!
//! Neither check resists forgery by someone who can write the index itself, whose state
//! could be edited by hand. That is why `promote`, `canary`, `approve` and `export flagd`
//! read the whole ledger, why `rollback` and `status` check the entries the index names
//! against the ledger (`State::unbacked`), why `ledger verify` never uses the index, and why
//! verification checks that every entry follows from the ones before it: a decision taken
//! from a forged state is an entry that does not. Writing the
//! index is best effort and creates no folder: a read-only checkout still works, without the
//! shortcut.

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use super::{Entry, Snapshot};

/// Bumped whenever the index's shape or meaning changes, so an old index is rebuilt.
const FORMAT: u32 = 4;

/// The fingerprint's block size; also how much is read at a time while checking it.
const BLOCK: usize = 1 << 20;

/// What an index knows of the ledger bytes its snapshot covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Coverage {
    /// XXH3-128 of each whole block, in order.
    blocks: Vec<String>,
    /// XXH3-128 of the bytes after the last whole block.
    rest: String,
    /// The ledger file's metadata when it held exactly the covered bytes.
    stamp: Option<Stamp>,
    /// When the index holding this coverage was written (its modification time), as read.
    #[serde(skip)]
    written: Option<(i64, i64)>,
}

/// A file's identity, size and times: any write changes the change time, which no tool can
/// set back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    #[cfg(unix)]
    pub(super) fn of(meta: &Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        Some(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    #[cfg(not(unix))]
    pub(super) fn of(_meta: &Metadata) -> Option<Stamp> {
        None
    }
}

#[cfg(unix)]
fn modified(meta: &Metadata) -> Option<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.mtime(), meta.mtime_nsec()))
}

#[cfg(not(unix))]
fn modified(_meta: &Metadata) -> Option<(i64, i64)> {
    None
}

fn hex(bytes: &[u8]) -> String {
    format!("{:032x}", xxh3_128(bytes))
}

impl Coverage {
    /// The coverage of `bytes`, the whole ledger as read; `stamp` is the file's metadata
    /// when it was opened, kept only if it describes exactly these bytes.
    pub(super) fn of(bytes: &[u8], stamp: Option<Stamp>) -> Coverage {
        let whole = bytes.len() / BLOCK * BLOCK;
        Coverage {
            blocks: bytes[..whole].chunks(BLOCK).map(hex).collect(),
            rest: hex(&bytes[whole..]),
            stamp: stamp.filter(|s| s.len == bytes.len() as u64),
            written: None,
        }
    }

    /// Whether the file's metadata says nothing wrote to it since the coverage was taken.
    /// As in git's "racy clean" rule, only when the ledger's last change is strictly older
    /// than the index: where file times are coarse, a write in the same tick as the one the
    /// stamp recorded would leave the times as they were.
    pub(super) fn unchanged(&self, now: Option<Stamp>) -> bool {
        match (self.stamp, now, self.written) {
            (Some(then), Some(now), Some(written)) => then == now && then.ctime < written,
            _ => false,
        }
    }

    /// Whether `ledger` begins with the `bytes` bytes covered; reads them, leaving the file
    /// right after them.
    pub(super) fn matches(&self, ledger: &mut File, bytes: u64) -> std::io::Result<bool> {
        let Ok(bytes) = usize::try_from(bytes) else {
            return Ok(false);
        };
        if bytes / BLOCK != self.blocks.len() {
            return Ok(false);
        }
        ledger.seek(SeekFrom::Start(0))?;
        let mut buffer = vec![0; BLOCK.min(bytes)];
        for expected in &self.blocks {
            if ledger.read_exact(&mut buffer).is_err() || hex(&buffer) != *expected {
                return Ok(false);
            }
        }
        let rest = &mut buffer[..bytes % BLOCK];
        Ok(ledger.read_exact(rest).is_ok() && hex(rest) == self.rest)
    }

    /// The coverage once `appended` follows the `bytes` bytes covered: re-hashes the last
    /// partial block, read from `ledger`, with what was appended. `stamp` as for `of`.
    pub(super) fn extended(
        &self,
        ledger: &mut File,
        bytes: u64,
        appended: &[u8],
        stamp: Option<Stamp>,
    ) -> std::io::Result<Coverage> {
        let start = self.blocks.len() * BLOCK;
        let mut rest = vec![
            0;
            usize::try_from(bytes)
                .unwrap_or(usize::MAX)
                .saturating_sub(start)
        ];
        ledger.seek(SeekFrom::Start(start as u64))?;
        ledger.read_exact(&mut rest)?;
        rest.extend_from_slice(appended);
        let whole = rest.len() / BLOCK * BLOCK;
        let mut blocks = self.blocks.clone();
        blocks.extend(rest[..whole].chunks(BLOCK).map(hex));
        let total = bytes + appended.len() as u64;
        Ok(Coverage {
            blocks,
            rest: hex(&rest[whole..]),
            stamp: stamp.filter(|s| s.len == total),
            written: None,
        })
    }
}

#[derive(Serialize)]
struct IndexOut<'a> {
    format: u32,
    coverage: &'a Coverage,
    snapshot: &'a Snapshot,
}

#[derive(Deserialize)]
struct IndexIn {
    format: u32,
    coverage: Coverage,
    snapshot: Snapshot,
}

/// The snapshot an index holds and its coverage, if the index is readable, current in
/// format and self-consistent.
pub(super) fn read(path: &Path) -> Option<(Snapshot, Coverage)> {
    let mut file = File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let mut index: IndexIn = serde_json::from_slice(&bytes).ok()?;
    index.coverage.written = file.metadata().ok().as_ref().and_then(modified);
    let s = &index.snapshot;
    let extent_ok = if s.chain.entries == 0 {
        s.bytes == 0 && s.chain.last_hash.is_none() && s.state.prompts.is_empty()
    } else {
        // Every entry takes more than one byte.
        s.last_line_at < s.bytes && s.chain.entries < s.bytes && s.chain.last_hash.is_some()
    };
    (index.format == FORMAT && extent_ok && s.state.is_consistent())
        .then_some((index.snapshot, index.coverage))
}

/// Whether the ledger holds, where the snapshot says its last line starts, a whole line with
/// the entry the snapshot ends with (its seq and hash, matching its content). Cheap, and
/// it keeps an index whose counts were edited from being trusted.
pub(super) fn ends_where_it_says(ledger: &mut File, snapshot: &Snapshot) -> std::io::Result<bool> {
    if snapshot.chain.entries == 0 {
        return Ok(true);
    }
    // From the byte before the line (which must end the previous line) to the line's end.
    let from = snapshot.last_line_at.saturating_sub(1);
    let Ok(len) = usize::try_from(snapshot.bytes - from) else {
        return Ok(false);
    };
    let mut bytes = vec![0; len];
    ledger.seek(SeekFrom::Start(from))?;
    if ledger.read_exact(&mut bytes).is_err() {
        return Ok(false);
    }
    let line = if snapshot.last_line_at == 0 {
        &bytes[..]
    } else if bytes[0] == b'\n' {
        &bytes[1..]
    } else {
        return Ok(false);
    };
    let Some(body) = line.strip_suffix(b"\n") else {
        return Ok(false);
    };
    let Ok(entry) = serde_json::from_slice::<Entry>(body) else {
        return Ok(false);
    };
    Ok(entry.seq == snapshot.chain.entries
        && snapshot.chain.last_hash.as_deref() == Some(entry.hash.as_str())
        && entry.compute_hash() == entry.hash)
}

/// Writes the index (a temporary file renamed into place, so a reader never sees half of
/// one). Only into the tool's folder as it exists: reading the ledger creates no folder.
/// Failures are ignored: the next command reads the whole ledger instead.
pub(super) fn write(path: &Path, snapshot: &Snapshot, coverage: &Coverage) {
    let Some(dir) = path.parent() else {
        return;
    };
    if !dir.is_dir() {
        return;
    }
    let Ok(mut text) = serde_json::to_vec(&IndexOut {
        format: FORMAT,
        coverage,
        snapshot,
    }) else {
        return;
    };
    text.push(b'\n');
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_extended_by_appends_equals_coverage_of_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        // Sizes around the block boundary, appends that cross one or several blocks.
        let data: Vec<u8> = (0..3 * BLOCK + 77).map(|i| (i * 31 % 251) as u8).collect();
        for (start, end) in [
            (0, 10),
            (10, BLOCK - 1),
            (BLOCK - 1, BLOCK + 1),
            (5, 3 * BLOCK + 77),
            (BLOCK, 2 * BLOCK),
        ] {
            std::fs::write(&path, &data[..end]).unwrap();
            let mut file = File::open(&path).unwrap();
            let before = Coverage::of(&data[..start], None);
            assert!(before.matches(&mut file, start as u64).unwrap());
            let after = before
                .extended(&mut file, start as u64, &data[start..end], None)
                .unwrap();
            assert_eq!(after, Coverage::of(&data[..end], None), "{start}..{end}");
            assert!(after.matches(&mut file, end as u64).unwrap());
            // One changed byte anywhere is seen.
            let mut edited = data[..end].to_vec();
            edited[end / 2] ^= 1;
            std::fs::write(&path, &edited).unwrap();
            let mut file = File::open(&path).unwrap();
            assert!(!after.matches(&mut file, end as u64).unwrap());
            // So is a shorter file.
            std::fs::write(&path, &data[..end - 1]).unwrap();
            let mut file = File::open(&path).unwrap();
            assert!(!after.matches(&mut file, end as u64).unwrap());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_write_changes_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        std::fs::write(&path, "abc").unwrap();
        let stamp = Stamp::of(&std::fs::metadata(&path).unwrap());
        let mut coverage = Coverage::of(b"abc", stamp);
        let now = || Stamp::of(&std::fs::metadata(&path).unwrap());
        // Racy: the index was written in the same instant as the ledger's last change.
        coverage.written = Some(stamp.unwrap().ctime);
        assert!(!coverage.unchanged(now()));
        coverage.written = Some((stamp.unwrap().ctime.0 + 1, 0));
        assert!(coverage.unchanged(now()));
        // Same length, same content: still a write.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "abc").unwrap();
        assert!(!coverage.unchanged(now()));
        // A stamp of another length is not kept.
        assert_eq!(Coverage::of(b"ab", stamp).stamp, None);
    }
}

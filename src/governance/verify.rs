//! `promptgate ledger verify [--base-ref REV]`: checks every entry of the ledger, and that
//! the ledger committed at REV is an unchanged prefix of today's.

use std::path::Path;

use super::git::git;
use super::{Governance, note, tampered};
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::ledger;
use crate::report::terminal::print_stdout;

pub fn verify(cwd: &Path, base_ref: Option<&str>) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let text = gov.ledger.read_text()?;
    let shown = gov.shown(&gov.ledger.path);
    // Nothing to verify is not a verified ledger: a deleted ledger must not pass.
    if text.is_empty() {
        return Err(Error::input(
            Location::file(&gov.ledger.path),
            if gov.ledger.path.exists() {
                "the ledger is empty: nothing to verify"
            } else {
                "no ledger here: nothing to verify (the first approve or promote creates it; check [promotion] ledger in promptgate.toml)"
            },
        ));
    }
    let entries = match ledger::verify(&text) {
        Ok(entries) => entries,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let mut summary = format!("ledger {shown}: {entries} entries, hash chain intact");
    if let Some(rev) = base_ref {
        let Some(base_entries) = check_base(&gov, &text, &shown, rev)? else {
            return Ok(Outcome::Failed);
        };
        summary.push_str(&format!(
            "; the {base_entries} entries committed at {rev} are its unchanged prefix"
        ));
    }
    summary.push('\n');
    print_stdout(&summary);
    Ok(Outcome::Passed)
}

/// The number of entries the ledger held at `rev` when that ledger is a prefix of `text`;
/// otherwise prints where they part and returns `None`. A chain can be rebuilt from
/// scratch and still verify: only the committed history shows it was rewritten.
fn check_base(gov: &Governance, text: &str, shown: &str, rev: &str) -> Result<Option<usize>> {
    let dir = gov
        .ledger
        .path
        .parent()
        .map_or_else(|| gov.project.root.clone(), Path::to_path_buf);
    let name = gov
        .ledger
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let commit = format!("{rev}^{{commit}}");
    if let Err(message) = git(&dir, &["rev-parse", "--verify", "--quiet", &commit])? {
        return Err(Error::usage(format!(
            "--base-ref {rev}: not a commit in this repository{}",
            if message.is_empty() {
                String::new()
            } else {
                format!(" ({message})")
            }
        )));
    }
    let spec = format!("{rev}:./{name}");
    // A ledger not yet committed at `rev` is an empty prefix.
    let base = match git(&dir, &["cat-file", "-e", &spec])? {
        Err(_) => Vec::new(),
        Ok(_) => git(&dir, &["show", &spec])?.map_err(|message| {
            Error::infrastructure(format!("git show {spec} failed: {message}"))
        })?,
    };
    let whole_lines = base.is_empty() || base.ends_with(b"\n");
    if !whole_lines || !text.as_bytes().starts_with(&base) {
        let base_text = String::from_utf8_lossy(&base);
        let line = base_text
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || text.lines().count().min(base_text.lines().count()) + 1,
                |i| i + 1,
            );
        note(&format!(
            "tampered: ledger {shown}:{line}: the ledger committed at {rev} is not a prefix of today's: entries recorded by {rev} were changed, removed or the ledger was rebuilt"
        ));
        return Ok(None);
    }
    Ok(Some(base.iter().filter(|&&b| b == b'\n').count()))
}

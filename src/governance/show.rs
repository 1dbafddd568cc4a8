//! `promptgate show VERSION`: prints a stored prompt file byte for byte.

use std::io::Write;
use std::path::Path;

use super::Governance;
use crate::error::{Error, Result};
use crate::exit::Outcome;

pub fn show(cwd: &Path, query: &str) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let path = gov.find_stored(query)?;
    let bytes = std::fs::read(&path).map_err(|e| Error::unreadable(&path, &e))?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&bytes).and_then(|()| out.flush());
    Ok(Outcome::Passed)
}

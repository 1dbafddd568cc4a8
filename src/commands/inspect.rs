//! `promptgate hash PROMPT` and `promptgate golden GOLDEN`: the identities a criteria file
//! and a ledger pin, printed.

use std::path::Path;

use crate::error::Result;
use crate::exit::Outcome;
use crate::golden::GoldenSet;
use crate::prompt::Prompt;
use crate::report::terminal::print_stdout;

pub fn hash(path: &Path) -> Result<Outcome> {
    let prompt = Prompt::load(path)?;
    print_stdout(&format!(
        "{}\nshort: {}\n",
        prompt.version,
        prompt.short_version()
    ));
    Ok(Outcome::Passed)
}

pub fn golden(path: &Path) -> Result<Outcome> {
    let golden = GoldenSet::load(path)?;
    print_stdout(&format!("{}\ncases: {}\n", golden.hash, golden.cases.len()));
    Ok(Outcome::Passed)
}

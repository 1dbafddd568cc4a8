//! `promptgate audit`: prompts with no owner, past their `review_by`, or neither promoted
//! nor run within `--max-age-days`; any finding fails.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{DEFAULT_RUNS, Governance, tampered};
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::report::terminal::print_stdout;
use crate::rundir::{Manifest, manifest};

/// `YYYY-MM-DD` of a time, in UTC.
fn date_of(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_string()
}

fn parse_ts(ts: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(ts).ok()
}

pub fn audit(cwd: &Path, max_age_days: u64) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let snapshot = match gov.ledger.load()? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let now = SystemTime::now();
    let since = now
        .checked_sub(Duration::from_secs(max_age_days.saturating_mul(86_400)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let today = date_of(now);
    let mut recent: BTreeSet<String> = snapshot
        .state
        .prompts
        .iter()
        .filter(|(_, p)| {
            p.last_change
                .as_deref()
                .and_then(parse_ts)
                .is_some_and(|t| t >= since)
        })
        .map(|(id, _)| id.clone())
        .collect();
    let runs = gov.project.resolve(
        gov.project
            .config
            .run
            .out
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_RUNS)),
    );
    if let Ok(dirs) = std::fs::read_dir(&runs) {
        for dir in dirs.flatten() {
            let path = dir.path();
            if !path.join(manifest::FILE_NAME).is_file() {
                continue;
            }
            if let Ok(m) = Manifest::load(&path)
                && parse_ts(&m.started_at).is_some_and(|t| t >= since)
            {
                recent.insert(m.identity.prompt.id.clone());
            }
        }
    }
    let mut findings: Vec<String> = Vec::new();
    let prompts = gov.working_copies()?;
    if prompts.is_empty() {
        return Err(Error::input(
            Location::file(gov.prompts_dir()),
            "no prompt files (*.toml) here: nothing to audit (prompts live in prompts/ beside promptgate.toml)",
        ));
    }
    for prompt in prompts {
        let shown = gov.shown(&prompt.path);
        if prompt.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
            findings.push(format!("{shown} ({}): no owner", prompt.id));
        }
        if let Some(date) = &prompt.review_by
            && *date < today
        {
            findings.push(format!(
                "{shown} ({}): review_by {date} has passed (today is {today})",
                prompt.id
            ));
        }
        if !recent.contains(&prompt.id) {
            findings.push(format!(
                "{shown} ({}): neither promoted nor run in the last {max_age_days} days",
                prompt.id
            ));
        }
    }
    if findings.is_empty() {
        print_stdout(&format!(
            "audit: every prompt has an owner, a current review date and activity in the last {max_age_days} days\n"
        ));
        return Ok(Outcome::Passed);
    }
    let mut text = String::new();
    for finding in &findings {
        text.push_str(finding);
        text.push('\n');
    }
    text.push_str(&format!("audit: {} finding(s)\n", findings.len()));
    print_stdout(&text);
    Ok(Outcome::Failed)
}

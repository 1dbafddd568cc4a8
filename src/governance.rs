//! Promotion governance: approve, promote, rollback, show, status, ledger verify and audit.
//!
//! Every decision is read from the ledger (see `ledger`); promoted prompt files are kept byte
//! for byte in the store, content-addressed by version, so a rollback needs nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::criteria::Criteria;
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::exit;
use crate::ledger::{self, Action, Ledger, NewEntry, Reading, Tampered};
use crate::project::Project;
use crate::prompt::Prompt;
use crate::rundir::manifest;
use crate::rundir::{self, Report};
use crate::rundir::{Manifest, Status};

pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];
pub const DEFAULT_LEDGER: &str = "promptgate.ledger.jsonl";
pub const DEFAULT_STORE: &str = ".promptgate/store";
pub const DEFAULT_RUNS: &str = ".promptgate/runs";

/// The project's promotion settings, checked.
pub struct Governance {
    pub project: Project,
    pub environments: Vec<String>,
    pub approvals: BTreeMap<String, u32>,
    pub ledger: Ledger,
    pub store: PathBuf,
}

fn note(text: &str) {
    crate::interrupt::note(format_args!("{text}"));
}

fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints a broken chain and returns exit 1: a tampered ledger is a failed check.
fn tampered(gov: &Governance, t: &Tampered) -> i32 {
    note(&format!(
        "tampered: {}",
        ledger::tampered_error(Path::new(&gov.shown(&gov.ledger.path)), t)
    ));
    exit::GATE_FAILED
}

impl Governance {
    pub fn load(cwd: &Path) -> Result<Governance> {
        let project = Project::discover(cwd)?;
        let promotion = &project.config.promotion;
        let environments: Vec<String> = promotion
            .environments
            .clone()
            .unwrap_or_else(|| DEFAULT_ENVIRONMENTS.iter().map(|e| e.to_string()).collect());
        if environments.is_empty() {
            return Err(project.config_error("[promotion] environments is empty"));
        }
        let mut seen = BTreeSet::new();
        for env in &environments {
            if env.trim().is_empty() || !seen.insert(env.as_str()) {
                return Err(project.config_error(format!(
                    "[promotion] environments: {env:?} is empty or listed twice"
                )));
            }
        }
        // Without an `approvals` table, a sensitive prompt still needs one approver (not its
        // promoter) for the last environment: `sensitive` must never mean nothing.
        let approvals = promotion.approvals.clone().unwrap_or_else(|| {
            BTreeMap::from([(environments.last().cloned().unwrap_or_default(), 1)])
        });
        for env in approvals.keys() {
            if !environments.contains(env) {
                return Err(project.config_error(format!(
                    "[promotion] approvals names {env:?}, which is not one of the environments ({})",
                    environments.join(", ")
                )));
            }
        }
        let ledger_path = project.resolve(
            promotion
                .ledger
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_LEDGER)),
        );
        // The lock and the index sit in the tool's scratch folder, so a refusal leaves the
        // ledger as it was.
        let ledger = Ledger::new(ledger_path, &project.root.join(".promptgate"));
        let store = project.resolve(
            promotion
                .store
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_STORE)),
        );
        Ok(Governance {
            project,
            environments,
            approvals,
            ledger,
            store,
        })
    }

    fn check_env(&self, env: &str) -> Result<usize> {
        self.environments
            .iter()
            .position(|e| e == env)
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown environment {env:?}: the environments are {} ([promotion] environments in promptgate.toml; dev, staging, prod without one)",
                    self.environments.join(", ")
                ))
            })
    }

    fn store_path(&self, version: &str) -> PathBuf {
        let hex = version.strip_prefix("sha256:").unwrap_or(version);
        self.store.join(format!("{hex}.toml"))
    }

    /// Keeps a prompt file byte for byte under its version (first copy wins: the same
    /// version means the same model settings and messages).
    fn store_prompt(&self, version: &str, bytes: &[u8]) -> Result<()> {
        let path = self.store_path(version);
        if path.is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.store).map_err(|e| Error::write_failed(&self.store, &e))?;
        let tmp = self.store.join(format!(
            ".{}.tmp{}",
            digest::short(version),
            std::process::id()
        ));
        std::fs::write(&tmp, bytes).map_err(|e| Error::write_failed(&tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::write_failed(&path, &e))
    }

    fn shown(&self, path: &Path) -> String {
        self.project.relative(path)
    }
}

/// `--actor`, else `GITHUB_ACTOR`, else git's `user.email`.
pub fn actor(flag: Option<&str>) -> Result<String> {
    if let Some(actor) = flag {
        if actor.trim().is_empty() {
            return Err(Error::usage("--actor is empty"));
        }
        return Ok(actor.trim().to_string());
    }
    if let Ok(actor) = std::env::var("GITHUB_ACTOR")
        && !actor.trim().is_empty()
    {
        return Ok(actor.trim().to_string());
    }
    if let Ok(out) = std::process::Command::new("git")
        .args(["config", "user.email"])
        .output()
        && out.status.success()
    {
        let email = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !email.is_empty() {
            return Ok(email);
        }
    }
    Err(Error::usage(
        "no actor: pass --actor WHO, or set GITHUB_ACTOR, or git config user.email",
    ))
}

fn read_prompt(path: &Path) -> Result<(Prompt, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::unreadable(path, &e))?;
    let text = crate::error::text_from_bytes(path, bytes.clone())?;
    Ok((Prompt::parse(path, &text)?, bytes))
}

pub fn approve(
    cwd: &Path,
    prompt: &Path,
    env: &str,
    actor_flag: Option<&str>,
    reason: Option<String>,
) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    gov.check_env(env)?;
    let actor = actor(actor_flag)?;
    let (prompt, _) = read_prompt(prompt)?;
    let mut locked = match gov.ledger.lock(Reading::Indexed)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
    let approvers = state.approvers(&prompt.id, &prompt.version, env);
    if approvers.contains(&actor) {
        print_stdout(&format!(
            "{actor} already approved {} {} for {env}: nothing recorded\n",
            prompt.id,
            prompt.short_version()
        ));
        return Ok(exit::PASS);
    }
    let previous = state.live_version(&prompt.id, env).map(str::to_string);
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Approve,
        prompt_id: prompt.id.clone(),
        version: prompt.version.clone(),
        env: env.to_string(),
        previous_version: previous,
        evidence: None,
        approvals: Vec::new(),
        reason,
    })?;
    let needed = gov.approvals.get(env).copied().unwrap_or(0);
    print_stdout(&format!(
        "approved {} {} for {env} by {actor} (ledger seq {}; {} distinct approver(s) of this version for {env}; a sensitive prompt needs {needed} besides its promoter)\n",
        prompt.id,
        prompt.short_version(),
        entry.seq,
        approvers.len() + 1
    ));
    Ok(exit::PASS)
}

/// The evidence run, read before anything is decided: a missing or unreadable directory
/// is an input error.
struct EvidenceRun {
    manifest: Manifest,
    report: Report,
    report_sha256: String,
}

fn load_evidence(dir: &Path) -> Result<EvidenceRun> {
    if !dir.is_dir() {
        return Err(Error::input(
            Location::file(dir),
            if dir.exists() {
                "is not a directory: --evidence takes a finished run directory"
            } else {
                "evidence run directory not found"
            },
        ));
    }
    let manifest = Manifest::load(dir)?;
    manifest.require_whole(dir, "a promotion")?;
    let report_path = dir.join(rundir::report::FILE_NAME);
    let bytes = std::fs::read(&report_path).map_err(|e| Error::unreadable(&report_path, &e))?;
    let report_sha256 = digest::sha256_id(&bytes);
    let text = crate::error::text_from_bytes(&report_path, bytes)?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            Location::line(&report_path, e.line()),
            format!("not a promptgate report: {e}"),
        )
    })?;
    Ok(EvidenceRun {
        manifest,
        report,
        report_sha256,
    })
}

pub struct PromoteRequest<'a> {
    pub prompt: &'a Path,
    pub env: &'a str,
    pub evidence: &'a Path,
    pub actor: Option<&'a str>,
    pub reason: Option<String>,
}

pub fn promote(cwd: &Path, req: &PromoteRequest<'_>) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    let env_index = gov.check_env(req.env)?;
    let env = req.env;
    let actor = actor(req.actor)?;
    let (prompt, bytes) = read_prompt(req.prompt)?;
    let run = load_evidence(req.evidence)?;
    // A promotion counts approvals and checks the previous environment: it reads the whole
    // ledger rather than trust the state index, a cache anyone with the folder could edit.
    let mut locked = match gov.ledger.lock(Reading::Whole)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
    let live = state.live_version(&prompt.id, env).map(str::to_string);
    if live.as_deref() == Some(prompt.version.as_str()) {
        print_stdout(&format!(
            "{} {} is already live in {env}: nothing to do\n",
            prompt.id,
            prompt.short_version()
        ));
        return Ok(exit::PASS);
    }
    let mut refusals: Vec<String> = Vec::new();
    let m = &run.manifest;
    let evidence_shown = req.evidence.display().to_string();
    if m.status != Status::Completed {
        refusals.push(format!(
            "the evidence run {evidence_shown} is {}, not completed",
            format!("{:?}", m.status).to_lowercase()
        ));
    } else if run.report.run_id != m.run_id
        || run.report.identity.criteria.hash != m.identity.criteria.hash
        || run.report.identity.prompt.version != m.identity.prompt.version
    {
        refusals.push(format!(
            "the evidence run {evidence_shown}'s report.json is not the judgement of that run (its run id, prompt version or criteria differ from the manifest's)"
        ));
    } else if !run.report.passed() {
        refusals.push(format!(
            "the evidence run {evidence_shown} did not pass (verdict {})",
            run.report.verdict_word()
        ));
    }
    if m.identity.prompt.id != prompt.id || m.identity.prompt.version != prompt.version {
        refusals.push(format!(
            "the evidence run ran {} {}, not {} {} (the prompt file now)",
            m.identity.prompt.id,
            digest::short(&m.identity.prompt.version),
            prompt.id,
            prompt.short_version()
        ));
    }
    let criteria_path = gov.project.resolve(Path::new(&m.identity.criteria.path));
    match Criteria::load(&criteria_path) {
        Err(e) => refusals.push(format!(
            "the evidence run's criteria file {} cannot be read now: {e}",
            m.identity.criteria.path
        )),
        Ok(criteria) => {
            if criteria.version != m.identity.criteria.version
                || criteria.hash != m.identity.criteria.hash
            {
                refusals.push(format!(
                    "the criteria file {} changed since the evidence run: version {} ({}) then, {} ({}) now",
                    m.identity.criteria.path,
                    m.identity.criteria.version,
                    digest::short(&m.identity.criteria.hash),
                    criteria.version,
                    digest::short(&criteria.hash)
                ));
            }
            if criteria.golden.sha256 != m.identity.golden.hash {
                refusals.push(format!(
                    "the evidence run's golden set hash {} is not the one the criteria pin ({})",
                    digest::short(&m.identity.golden.hash),
                    digest::short(&criteria.golden.sha256)
                ));
            }
        }
    }
    if env_index > 0 {
        let before = &gov.environments[env_index - 1];
        let live_before = state.live_version(&prompt.id, before);
        if live_before != Some(prompt.version.as_str()) {
            refusals.push(format!(
                "{} {} is not live in {before} (live there: {}): promote it to {before} first",
                prompt.id,
                prompt.short_version(),
                live_before.map_or("nothing", digest::short)
            ));
        }
    }
    let approvers: Vec<String> = state
        .approvers(&prompt.id, &prompt.version, env)
        .into_iter()
        .filter(|a| *a != actor)
        .collect();
    if prompt.sensitive {
        let needed = gov.approvals.get(env).copied().unwrap_or(0) as usize;
        if approvers.len() < needed {
            refusals.push(format!(
                "{} is sensitive: {env} needs {needed} distinct approver(s) of version {} other than the promoter {actor}, it has {}{}",
                prompt.id,
                prompt.short_version(),
                approvers.len(),
                if approvers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", approvers.join(", "))
                }
            ));
        }
    }
    if !refusals.is_empty() {
        for refusal in &refusals {
            note(&format!("refused: {refusal}"));
        }
        note(&format!(
            "promptgate: {} {} was not promoted to {env}; nothing was recorded",
            prompt.id,
            prompt.short_version()
        ));
        return Ok(exit::GATE_FAILED);
    }
    gov.store_prompt(&prompt.version, &bytes)?;
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Promote,
        prompt_id: prompt.id.clone(),
        version: prompt.version.clone(),
        env: env.to_string(),
        previous_version: live.clone(),
        evidence: Some(ledger::Evidence {
            run_id: m.run_id.clone(),
            report_sha256: run.report_sha256,
        }),
        approvals: if prompt.sensitive {
            approvers
        } else {
            Vec::new()
        },
        reason: req.reason.clone(),
    })?;
    print_stdout(&format!(
        "promoted {} {} to {env} by {actor} (was {}; ledger seq {})\n",
        prompt.id,
        prompt.short_version(),
        live.as_deref().map_or("nothing", digest::short),
        entry.seq
    ));
    Ok(exit::PASS)
}

/// Matches a full `sha256:` id, 64 hex digits or the 12-digit short form.
fn matches_version(query: &str, version: &str) -> bool {
    let hex = version.strip_prefix("sha256:").unwrap_or(version);
    let q = query.strip_prefix("sha256:").unwrap_or(query);
    (q.len() == 64 && q == hex) || (q.len() == 12 && hex.starts_with(q))
}

fn check_version_query(query: &str) -> Result<()> {
    let q = query.strip_prefix("sha256:").unwrap_or(query);
    let hex = q
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex || !(q.len() == 12 || q.len() == 64) {
        return Err(Error::usage(format!(
            "{query:?} is not a version: give the full sha256:… id or its 12-digit short form"
        )));
    }
    Ok(())
}

pub struct RollbackRequest<'a> {
    pub prompt_id: &'a str,
    pub env: &'a str,
    pub to: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub reason: String,
}

pub fn rollback(cwd: &Path, req: &RollbackRequest<'_>) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    gov.check_env(req.env)?;
    let env = req.env;
    if req.reason.trim().is_empty() {
        return Err(Error::usage(
            "--reason is empty: say why the rollback happens",
        ));
    }
    if let Some(to) = req.to {
        check_version_query(to)?;
    }
    let actor = actor(req.actor)?;
    let mut locked = match gov.ledger.lock(Reading::Indexed)? {
        Ok(locked) => locked,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = locked.state();
    let stack = state.stack(req.prompt_id, env);
    let Some(current) = stack.last().map(|v| v.to_string()) else {
        return Err(Error::usage(format!(
            "{} has never been live in {env}: nothing to roll back",
            req.prompt_id
        )));
    };
    let target = match req.to {
        Some(query) => {
            let mut ever: Vec<String> = state
                .ever_live(req.prompt_id, env)
                .into_iter()
                .filter(|v| matches_version(query, v))
                .map(str::to_string)
                .collect();
            match ever.len() {
                0 => {
                    return Err(Error::usage(format!(
                        "{query} was never live for {} in {env}: --to takes a version that was",
                        req.prompt_id
                    )));
                }
                1 => ever.remove(0),
                _ => {
                    return Err(Error::usage(format!(
                        "{query} is ambiguous: give the full version"
                    )));
                }
            }
        }
        None => match stack.len() {
            0 | 1 => {
                return Err(Error::usage(format!(
                    "{} has had only {} live in {env}: there is no earlier version to roll back to",
                    req.prompt_id,
                    digest::short(&current)
                )));
            }
            n => stack[n - 2].to_string(),
        },
    };
    if target == current {
        print_stdout(&format!(
            "{} {} is already live in {env}: nothing to do\n",
            req.prompt_id,
            digest::short(&target)
        ));
        return Ok(exit::PASS);
    }
    let stored = gov.store_path(&target);
    if !stored.is_file() {
        return Err(Error::input(
            Location::file(&stored),
            format!(
                "the store lacks {} {}: it cannot be rolled back to",
                req.prompt_id,
                digest::short(&target)
            ),
        ));
    }
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Rollback,
        prompt_id: req.prompt_id.to_string(),
        version: target.clone(),
        env: env.to_string(),
        previous_version: Some(current.clone()),
        evidence: None,
        approvals: Vec::new(),
        reason: Some(req.reason.clone()),
    })?;
    print_stdout(&format!(
        "rolled back {} in {env} from {} to {} by {actor} (ledger seq {}; the file is {})\n",
        req.prompt_id,
        digest::short(&current),
        digest::short(&target),
        entry.seq,
        gov.shown(&stored)
    ));
    Ok(exit::PASS)
}

/// The stored file of a version given in full or in its 12-digit short form.
fn find_stored(gov: &Governance, query: &str) -> Result<PathBuf> {
    check_version_query(query)?;
    let q = query.strip_prefix("sha256:").unwrap_or(query);
    let mut found: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&gov.store) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".toml")
                && hex.len() == 64
                && hex.starts_with(q)
            {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    match found.len() {
        0 => Err(Error::usage(format!(
            "no stored prompt has version {query}: only promoted versions are in {}",
            gov.shown(&gov.store)
        ))),
        1 => Ok(found.remove(0)),
        n => Err(Error::usage(format!(
            "{query} matches {n} stored versions: give the full version"
        ))),
    }
}

pub fn show(cwd: &Path, query: &str) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    let path = find_stored(&gov, query)?;
    let bytes = std::fs::read(&path).map_err(|e| Error::unreadable(&path, &e))?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&bytes).and_then(|()| out.flush());
    Ok(exit::PASS)
}

fn load_stored(gov: &Governance, version: &str) -> Result<Prompt> {
    let path = gov.store_path(version);
    if !path.is_file() {
        return Err(Error::input(
            Location::file(&path),
            format!(
                "the store lacks version {}, which the ledger records as promoted",
                digest::short(version)
            ),
        ));
    }
    Prompt::load(&path)
}

pub struct FlagdRequest<'a> {
    pub env: Option<&'a str>,
    pub canary: Option<&'a str>,
    pub percent: Option<u8>,
    pub output: Option<&'a Path>,
}

/// The `{messages, model}` object a flag variant holds.
fn variant(prompt: &Prompt) -> serde_json::Value {
    json!({ "messages": prompt.messages, "model": prompt.model })
}

pub fn export_flagd(cwd: &Path, req: &FlagdRequest<'_>) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    let env = match req.env {
        Some(env) => env.to_string(),
        None => gov.environments.last().cloned().unwrap_or_default(),
    };
    gov.check_env(&env)?;
    let snapshot = match gov.ledger.load()? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = &snapshot.state;
    let canary = match (req.canary, req.percent) {
        (Some(query), Some(percent)) => {
            if percent > 100 {
                return Err(Error::usage("--percent takes 0 to 100"));
            }
            let prompt = Prompt::load(&find_stored(&gov, query)?)?;
            match state.live(&prompt.id, &env) {
                None => {
                    return Err(Error::usage(format!(
                        "--canary {query}: {} has nothing live in {env} to split traffic with",
                        prompt.id
                    )));
                }
                Some(entry) if entry.version == prompt.version => {
                    return Err(Error::usage(format!(
                        "--canary {query} is already live in {env}: a canary is a version that is not"
                    )));
                }
                Some(_) => {}
            }
            Some((prompt, percent))
        }
        (None, None) => None,
        _ => return Err(Error::usage("--canary and --percent go together")),
    };
    let mut flags = serde_json::Map::new();
    for (id, history) in &state.prompts {
        let Some(live) = state.live(id, &env) else {
            note(&format!(
                "promptgate: {id} has nothing live in {env}: no flag"
            ));
            continue;
        };
        let mut variants = serde_json::Map::new();
        for version in history.versions() {
            let prompt = load_stored(&gov, version)?;
            variants.insert(digest::short(version).to_string(), variant(&prompt));
        }
        let live_short = digest::short(&live.version).to_string();
        let mut flag = json!({
            "state": "ENABLED",
            "defaultVariant": live_short,
            "metadata": {
                "promptId": id,
                "environment": env,
                "version": live.version,
                "since": live.ts,
                "by": live.actor,
            },
        });
        if let Some((prompt, percent)) = &canary
            && prompt.id == *id
        {
            let canary_short = prompt.short_version().to_string();
            variants.insert(canary_short.clone(), variant(prompt));
            flag["targeting"] = json!({
                "fractional": [
                    [canary_short, percent],
                    [live_short, 100 - percent],
                ]
            });
        }
        flag["variants"] = serde_json::Value::Object(variants);
        flags.insert(id.clone(), flag);
    }
    let count = flags.len();
    // An empty flag file deployed would switch every prompt off: refuse to write one.
    if count == 0 {
        return Err(Error::usage(format!(
            "nothing is live in {env}: no flag to export (promote a prompt to {env} first)"
        )));
    }
    let mut text = serde_json::to_string_pretty(&json!({
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "flags": flags,
    }))
    .expect("flag definitions serialize");
    text.push('\n');
    match req.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| Error::write_failed(path, &e))?;
            note(&format!(
                "promptgate: wrote {count} flag(s) for {env} to {}",
                path.display()
            ));
        }
        None => print_stdout(&text),
    }
    Ok(exit::PASS)
}

/// The project's `prompts/` folder.
fn prompts_dir(gov: &Governance) -> PathBuf {
    gov.project.root.join("prompts")
}

/// Prompt files directly under the project's `prompts/` folder, parsed: one that does not
/// parse is an input error, never skipped.
fn working_copies(gov: &Governance) -> Result<Vec<Prompt>> {
    let dir = prompts_dir(gov);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::unreadable(&dir, &e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(|p| Prompt::load(p)).collect()
}

pub fn status(cwd: &Path, json_format: bool) -> Result<i32> {
    let gov = Governance::load(cwd)?;
    let snapshot = match gov.ledger.load()? {
        Ok(snapshot) => snapshot,
        Err(t) => return Ok(tampered(&gov, &t)),
    };
    let state = &snapshot.state;
    let files = working_copies(&gov)?;
    let mut ids: BTreeSet<String> = files.iter().map(|p| p.id.clone()).collect();
    ids.extend(state.prompts.keys().cloned());
    let mut prompts = Vec::new();
    let mut text = String::new();
    for id in &ids {
        let mine: Vec<&Prompt> = files.iter().filter(|p| p.id == *id).collect();
        text.push_str(&format!("{id}\n"));
        for p in &mine {
            text.push_str(&format!(
                "  working copy {} {}\n",
                gov.shown(&p.path),
                p.short_version()
            ));
        }
        let mut envs = Vec::new();
        for env in &gov.environments {
            let live = state.live(id, env);
            // Several files may hold versions of one prompt: the live one matches when any does.
            let matching = live.and_then(|entry| mine.iter().find(|p| p.version == entry.version));
            let differs = live
                .filter(|_| !mine.is_empty())
                .map(|_| matching.is_none());
            match live {
                Some(entry) => text.push_str(&format!(
                    "  {env:<10} {}  since {} by {}  ({})\n",
                    digest::short(&entry.version),
                    entry.ts,
                    entry.actor,
                    match (matching, mine.len()) {
                        (Some(p), 1) => format!("working copy matches {}", gov.shown(&p.path)),
                        (Some(p), _) => format!("matches {}", gov.shown(&p.path)),
                        (None, 0) => "no working copy".to_string(),
                        (None, 1) => "working copy differs".to_string(),
                        (None, _) => "no working copy matches".to_string(),
                    }
                )),
                None => text.push_str(&format!("  {env:<10} -\n")),
            }
            envs.push(json!({
                "env": env,
                "live": live.map(|e| digest::short(&e.version).to_string()),
                "version": live.map(|e| e.version.clone()),
                "since": live.map(|e| e.ts.clone()),
                "by": live.map(|e| e.actor.clone()),
                "action": live.map(|e| e.action),
                "working_copy_differs": differs,
            }));
        }
        prompts.push(json!({
            "id": id,
            "working_copies": mine.iter().map(|p| json!({
                "path": gov.shown(&p.path),
                "version": p.version,
            })).collect::<Vec<_>>(),
            "environments": envs,
        }));
    }
    if json_format {
        let mut out = serde_json::to_string_pretty(&json!({
            "environments": gov.environments,
            "ledger_entries": snapshot.chain.entries,
            "prompts": prompts,
        }))
        .expect("status serializes");
        out.push('\n');
        print_stdout(&out);
    } else {
        if ids.is_empty() {
            text.push_str("no prompts in prompts/ and nothing in the ledger\n");
        }
        print_stdout(&text);
    }
    Ok(exit::PASS)
}

/// Runs git with `args` in `dir`; stdout on success, stderr's text on failure.
fn git(dir: &Path, args: &[&str]) -> Result<std::result::Result<Vec<u8>, String>> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| Error::infrastructure(format!("cannot run git: {e}")))?;
    Ok(if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    })
}

pub fn verify(cwd: &Path, base_ref: Option<&str>) -> Result<i32> {
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
            return Ok(exit::GATE_FAILED);
        }
        let base_entries = base.iter().filter(|&&b| b == b'\n').count();
        summary.push_str(&format!(
            "; the {base_entries} entries committed at {rev} are its unchanged prefix"
        ));
    }
    summary.push('\n');
    print_stdout(&summary);
    Ok(exit::PASS)
}

/// `YYYY-MM-DD` of a time, in UTC.
fn date_of(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_string()
}

fn parse_ts(ts: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(ts).ok()
}

pub fn audit(cwd: &Path, max_age_days: u64) -> Result<i32> {
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
    let prompts = working_copies(&gov)?;
    if prompts.is_empty() {
        return Err(Error::input(
            Location::file(prompts_dir(&gov)),
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
        Ok(exit::PASS)
    } else {
        let mut text = String::new();
        for finding in &findings {
            text.push_str(finding);
            text.push('\n');
        }
        text.push_str(&format!("audit: {} finding(s)\n", findings.len()));
        print_stdout(&text);
        Ok(exit::GATE_FAILED)
    }
}

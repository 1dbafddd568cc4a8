//! `promptgate promote --evidence RUN_DIR`: gathers the facts (the prompt file, the evidence
//! run judged again from its recorded calls, the whole ledger), asks the policy, records.

use std::path::{Path, PathBuf};

use super::policy::{
    self, CriteriaNow, Decision, EvidenceFacts, PreviousEnv, PromotionFacts, PromptFacts,
    RecordedReport,
};
use super::{Governance, actor, note, read_prompt, tampered};
use crate::digest;
use crate::error::{Error, Location, Result};
use crate::exit::Outcome;
use crate::gate::Verdict;
use crate::judging::Judging;
use crate::ledger::{self, Action, NewEntry, Reading, State};
use crate::prompt::Prompt;
use crate::report::terminal::print_stdout;
use crate::rundir::{self, Manifest, Report, Status};

pub struct PromoteRequest {
    pub prompt: PathBuf,
    pub env: String,
    pub evidence: PathBuf,
    pub actor: Option<String>,
    pub reason: Option<String>,
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
    let bytes = crate::error::read_bytes(&report_path)?;
    let report_sha256 = digest::sha256_id(&bytes);
    let text = crate::error::text_from_bytes(&report_path, bytes)?;
    let report = Report::parse(&report_path, &text)?;
    Ok(EvidenceRun {
        manifest,
        report,
        report_sha256,
    })
}

/// The criteria the run names, loaded now, and the verdict its recorded calls earn by them.
struct Rejudgement {
    judging: Result<Judging, String>,
    verdict: Option<Verdict>,
}

/// Re-scores and judges the run's recorded calls by the criteria its manifest names: what
/// report.json or the manifest say about the verdict is a claim anyone could have edited.
/// Only a completed run, by the same criteria over the same golden set, is judged; any other
/// is refused for that already. Calls that are not that run's own, or missing, are an input
/// error, as for `gate`.
fn judge_again(gov: &Governance, dir: &Path, manifest: &Manifest) -> Result<Rejudgement> {
    let identity = &manifest.identity;
    let path = gov.project.resolve(Path::new(&identity.criteria.path));
    let judging = match Judging::load(&path) {
        Ok(judging) => judging,
        Err(e) => {
            return Ok(Rejudgement {
                judging: Err(e.to_string()),
                verdict: None,
            });
        }
    };
    if manifest.status != Status::Completed
        || judging.criteria.hash != identity.criteria.hash
        || judging.golden.hash != identity.golden.hash
    {
        return Ok(Rejudgement {
            judging: Ok(judging),
            verdict: None,
        });
    }
    let report = judging.rejudge(manifest, dir, identity.clone(), |_, _| {})?;
    Ok(Rejudgement {
        judging: Ok(judging),
        verdict: Some(report.judgement.verdict),
    })
}

/// A prompt file and the evidence run it is promoted (or canaried) on, read and judged
/// again before the lock is taken: judging a large run must not hold up other appends.
pub(super) struct Candidate {
    pub prompt: Prompt,
    pub bytes: Vec<u8>,
    run: EvidenceRun,
    rejudged: Rejudgement,
    evidence_shown: String,
}

pub(super) fn candidate(gov: &Governance, prompt: &Path, evidence: &Path) -> Result<Candidate> {
    let (prompt, bytes) = read_prompt(prompt)?;
    let run = load_evidence(evidence)?;
    let rejudged = judge_again(gov, evidence, &run.manifest)?;
    Ok(Candidate {
        prompt,
        bytes,
        run,
        rejudged,
        evidence_shown: evidence.display().to_string(),
    })
}

impl Candidate {
    /// The policy's decision on putting this version in `env` (the `env_index`th
    /// environment) by `actor`, on the state of the whole ledger.
    /// The approvals to record when the policy allows this step, else `None` after printing
    /// every failed condition and that nothing was recorded (`not_done`: "was not promoted
    /// to prod").
    pub(super) fn approvals_or_refuse(
        &self,
        gov: &Governance,
        state: &State,
        env: &str,
        env_index: usize,
        actor: &str,
        not_done: &str,
    ) -> Option<Vec<String>> {
        match self.decide(gov, state, env, env_index, actor) {
            Decision::Allowed { approvals } => Some(approvals),
            Decision::Refused(refusals) => {
                for refusal in &refusals {
                    note(&format!("refused: {refusal}"));
                }
                note(&format!(
                    "promptgate: {} {} {not_done}; nothing was recorded",
                    self.prompt.id,
                    self.prompt.short_version()
                ));
                None
            }
        }
    }

    pub(super) fn decide(
        &self,
        gov: &Governance,
        state: &State,
        env: &str,
        env_index: usize,
        actor: &str,
    ) -> Decision {
        let (prompt, run, rejudged) = (&self.prompt, &self.run, &self.rejudged);
        let m = &run.manifest;
        let approvers = state.approvers(&prompt.id, &prompt.version, env);
        let facts = PromotionFacts {
            prompt: PromptFacts {
                id: &prompt.id,
                version: &prompt.version,
                sensitive: prompt.sensitive,
            },
            env,
            previous_env: env_index.checked_sub(1).map(|i| {
                let name = gov.environments[i].as_str();
                PreviousEnv {
                    name,
                    live: state.live_version(&prompt.id, name),
                }
            }),
            actor,
            approvers: &approvers,
            required_approvals: gov.approvals.get(env).copied().unwrap_or(0) as usize,
            evidence: EvidenceFacts {
                shown: &self.evidence_shown,
                run_id: &m.run_id,
                status: m.status,
                prompt_id: &m.identity.prompt.id,
                prompt_version: &m.identity.prompt.version,
                golden_hash: &m.identity.golden.hash,
                criteria_path: &m.identity.criteria.path,
                criteria_version: m.identity.criteria.version,
                criteria_hash: &m.identity.criteria.hash,
                report: RecordedReport {
                    run_id: &run.report.run_id,
                    prompt_version: &run.report.identity.prompt.version,
                    criteria_hash: &run.report.identity.criteria.hash,
                    verdict: run.report.judgement.verdict,
                    same_tool: run.report.tool_version == env!("CARGO_PKG_VERSION"),
                },
                judged: rejudged.verdict,
            },
            criteria: match &rejudged.judging {
                Err(error) => CriteriaNow::Unreadable(error.clone()),
                Ok(judging) => CriteriaNow::Loaded {
                    version: judging.criteria.version,
                    hash: &judging.criteria.hash,
                    golden_pin: &judging.criteria.golden.sha256,
                },
            },
        };
        policy::decide_promotion(&facts)
    }

    /// The evidence as the ledger records it.
    pub(super) fn evidence(&self) -> ledger::Evidence {
        ledger::Evidence {
            run_id: self.run.manifest.run_id.clone(),
            report_sha256: self.run.report_sha256.clone(),
        }
    }
}

pub fn promote(cwd: &Path, req: &PromoteRequest) -> Result<Outcome> {
    let gov = Governance::load(cwd)?;
    let env = req.env.as_str();
    let env_index = gov.check_env(env)?;
    let actor = actor(req.actor.as_deref())?;
    let candidate = candidate(&gov, &req.prompt, &req.evidence)?;
    let prompt = &candidate.prompt;
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
        return Ok(Outcome::Passed);
    }
    let not_done = format!("was not promoted to {env}");
    let Some(approvals) =
        candidate.approvals_or_refuse(&gov, state, env, env_index, &actor, &not_done)
    else {
        return Ok(Outcome::Failed);
    };
    gov.store_prompt(&prompt.version, &candidate.bytes)?;
    let entry = locked.append(NewEntry {
        actor: actor.clone(),
        action: Action::Promote,
        prompt_id: prompt.id.clone(),
        version: prompt.version.clone(),
        env: env.to_string(),
        percent: None,
        previous_version: live.clone(),
        evidence: Some(candidate.evidence()),
        approvals,
        reason: req.reason.clone(),
    })?;
    print_stdout(&format!(
        "promoted {} {} to {env} by {actor} (was {}; ledger seq {})\n",
        prompt.id,
        prompt.short_version(),
        live.as_deref().map_or("nothing", digest::short),
        entry.seq
    ));
    Ok(Outcome::Passed)
}

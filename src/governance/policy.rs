//! The promotion policy: what the ledger, the evidence run and the prompt file say, in; allowed
//! or every reason it is refused, out. Pure: `promote` gathers the facts and acts on the decision.

use std::collections::BTreeSet;
use std::fmt;

use crate::digest;
use crate::gate::Verdict;
use crate::rundir::Status;

/// Everything a promotion is decided on, read before the decision.
pub struct PromotionFacts<'a> {
    /// The prompt file as it is now.
    pub prompt: PromptFacts<'a>,
    /// The environment promoted to.
    pub env: &'a str,
    /// The environment before `env` in the order, if any, and the version live there.
    pub previous_env: Option<PreviousEnv<'a>>,
    /// Who promotes.
    pub actor: &'a str,
    /// Everyone the ledger records approving this version for `env`, the actor included.
    pub approvers: &'a BTreeSet<String>,
    /// Distinct approvers other than the actor a sensitive prompt needs for `env`.
    pub required_approvals: usize,
    pub evidence: EvidenceFacts<'a>,
    /// The criteria file the evidence run names, as it is now.
    pub criteria: CriteriaNow<'a>,
}

pub struct PromptFacts<'a> {
    pub id: &'a str,
    pub version: &'a str,
    pub sensitive: bool,
}

pub struct PreviousEnv<'a> {
    pub name: &'a str,
    pub live: Option<&'a str>,
}

/// The evidence run: what its manifest and report.json say, and what its recorded calls
/// earn when judged again.
pub struct EvidenceFacts<'a> {
    /// The run directory as the promoter named it.
    pub shown: &'a str,
    pub run_id: &'a str,
    pub status: Status,
    pub prompt_id: &'a str,
    pub prompt_version: &'a str,
    pub golden_hash: &'a str,
    pub criteria_path: &'a str,
    pub criteria_version: u64,
    pub criteria_hash: &'a str,
    /// report.json as written.
    pub report: RecordedReport<'a>,
    /// The verdict of the recorded calls re-scored and judged again by the criteria now;
    /// `None` when they could not be (a run not completed, criteria or golden set changed).
    pub judged: Option<Verdict>,
}

/// What report.json claims: whose judgement it is, and the verdict.
pub struct RecordedReport<'a> {
    pub run_id: &'a str,
    pub prompt_version: &'a str,
    pub criteria_hash: &'a str,
    pub verdict: Verdict,
    /// Written by this version of promptgate: only then must its verdict be the one the
    /// calls earn now (another version may compute intervals differently).
    pub same_tool: bool,
}

pub enum CriteriaNow<'a> {
    /// The file or the golden set it pins cannot be loaded; the error says why.
    Unreadable(String),
    Loaded {
        version: u64,
        hash: &'a str,
        golden_pin: &'a str,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Promote, recording these approvals (the counted ones: not the actor's).
    Allowed { approvals: Vec<String> },
    /// Every condition that failed, in the order they are checked.
    Refused(Vec<Refusal>),
}

/// One failed condition; `Display` is the sentence `promote` prints after "refused: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotCompleted {
        evidence: String,
        status: Status,
    },
    ReportNotOfRun {
        evidence: String,
    },
    Altered {
        evidence: String,
        recorded: Verdict,
        judged: Verdict,
    },
    DidNotPass {
        evidence: String,
        verdict: Verdict,
    },
    NotJudged {
        evidence: String,
    },
    OtherVersion {
        ran_id: String,
        ran_version: String,
        prompt_id: String,
        prompt_version: String,
    },
    CriteriaUnreadable {
        path: String,
        error: String,
    },
    CriteriaChanged {
        path: String,
        then_version: u64,
        then_hash: String,
        now_version: u64,
        now_hash: String,
    },
    GoldenNotPinned {
        ran: String,
        pinned: String,
    },
    NotLiveBefore {
        prompt_id: String,
        version: String,
        before: String,
        live_there: Option<String>,
    },
    TooFewApprovals {
        prompt_id: String,
        env: String,
        needed: usize,
        version: String,
        actor: String,
        approvers: Vec<String>,
    },
}

fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotCompleted { evidence, status } => {
                write!(f, "the evidence run {evidence} is {status}, not completed")
            }
            Refusal::ReportNotOfRun { evidence } => write!(
                f,
                "the evidence run {evidence}'s report.json is not the judgement of that run (its run id, prompt version or criteria differ from the manifest's)"
            ),
            Refusal::Altered {
                evidence,
                recorded,
                judged,
            } => write!(
                f,
                "the evidence run {evidence} was altered: its report.json says {}, its recorded calls judge {}",
                word(*recorded),
                word(*judged)
            ),
            Refusal::DidNotPass { evidence, verdict } => write!(
                f,
                "the evidence run {evidence} did not pass (verdict {})",
                word(*verdict)
            ),
            Refusal::NotJudged { evidence } => write!(
                f,
                "the evidence run {evidence}'s recorded calls were not judged again by its criteria"
            ),
            Refusal::OtherVersion {
                ran_id,
                ran_version,
                prompt_id,
                prompt_version,
            } => write!(
                f,
                "the evidence run ran {ran_id} {}, not {prompt_id} {} (the prompt file now)",
                digest::short(ran_version),
                digest::short(prompt_version)
            ),
            Refusal::CriteriaUnreadable { path, error } => write!(
                f,
                "the evidence run's criteria file {path} cannot be read now: {error}"
            ),
            Refusal::CriteriaChanged {
                path,
                then_version,
                then_hash,
                now_version,
                now_hash,
            } => write!(
                f,
                "the criteria file {path} changed since the evidence run: version {then_version} ({}) then, {now_version} ({}) now",
                digest::short(then_hash),
                digest::short(now_hash)
            ),
            Refusal::GoldenNotPinned { ran, pinned } => write!(
                f,
                "the evidence run's golden set hash {} is not the one the criteria pin ({})",
                digest::short(ran),
                digest::short(pinned)
            ),
            Refusal::NotLiveBefore {
                prompt_id,
                version,
                before,
                live_there,
            } => write!(
                f,
                "{prompt_id} {} is not live in {before} (live there: {}): promote it to {before} first",
                digest::short(version),
                live_there.as_deref().map_or("nothing", digest::short)
            ),
            Refusal::TooFewApprovals {
                prompt_id,
                env,
                needed,
                version,
                actor,
                approvers,
            } => {
                write!(
                    f,
                    "{prompt_id} is sensitive: {env} needs {needed} distinct approver(s) of version {} other than the promoter {actor}, it has {}",
                    digest::short(version),
                    approvers.len()
                )?;
                if !approvers.is_empty() {
                    write!(f, " ({})", approvers.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Allowed only when the evidence run completed, its recorded calls judged again pass and
/// agree with its report.json, it ran this exact version by criteria unchanged since over the
/// golden set they pin, the version is live in the previous environment, and a sensitive
/// prompt has enough approvers besides the actor. Otherwise every failed condition.
pub fn decide_promotion(facts: &PromotionFacts<'_>) -> Decision {
    let mut refusals = Vec::new();
    let e = &facts.evidence;
    let evidence = || e.shown.to_string();
    if e.status != Status::Completed {
        refusals.push(Refusal::NotCompleted {
            evidence: evidence(),
            status: e.status,
        });
    } else if e.report.run_id != e.run_id
        || e.report.criteria_hash != e.criteria_hash
        || e.report.prompt_version != e.prompt_version
    {
        refusals.push(Refusal::ReportNotOfRun {
            evidence: evidence(),
        });
    } else if let Some(judged) = e.judged {
        // report.json is what the ledger pins, so it must say what the calls earn.
        if judged != e.report.verdict && e.report.same_tool {
            refusals.push(Refusal::Altered {
                evidence: evidence(),
                recorded: e.report.verdict,
                judged,
            });
        } else if judged != Verdict::Pass {
            refusals.push(Refusal::DidNotPass {
                evidence: evidence(),
                verdict: judged,
            });
        }
    }
    let prompt = &facts.prompt;
    if e.prompt_id != prompt.id || e.prompt_version != prompt.version {
        refusals.push(Refusal::OtherVersion {
            ran_id: e.prompt_id.to_string(),
            ran_version: e.prompt_version.to_string(),
            prompt_id: prompt.id.to_string(),
            prompt_version: prompt.version.to_string(),
        });
    }
    match &facts.criteria {
        CriteriaNow::Unreadable(error) => refusals.push(Refusal::CriteriaUnreadable {
            path: e.criteria_path.to_string(),
            error: error.clone(),
        }),
        CriteriaNow::Loaded {
            version,
            hash,
            golden_pin,
        } => {
            if *version != e.criteria_version || *hash != e.criteria_hash {
                refusals.push(Refusal::CriteriaChanged {
                    path: e.criteria_path.to_string(),
                    then_version: e.criteria_version,
                    then_hash: e.criteria_hash.to_string(),
                    now_version: *version,
                    now_hash: hash.to_string(),
                });
            }
            if *golden_pin != e.golden_hash {
                refusals.push(Refusal::GoldenNotPinned {
                    ran: e.golden_hash.to_string(),
                    pinned: golden_pin.to_string(),
                });
            }
        }
    }
    if let Some(before) = &facts.previous_env
        && before.live != Some(prompt.version)
    {
        refusals.push(Refusal::NotLiveBefore {
            prompt_id: prompt.id.to_string(),
            version: prompt.version.to_string(),
            before: before.name.to_string(),
            live_there: before.live.map(str::to_string),
        });
    }
    let approvers: Vec<String> = facts
        .approvers
        .iter()
        .filter(|a| *a != facts.actor)
        .cloned()
        .collect();
    if prompt.sensitive && approvers.len() < facts.required_approvals {
        refusals.push(Refusal::TooFewApprovals {
            prompt_id: prompt.id.to_string(),
            env: facts.env.to_string(),
            needed: facts.required_approvals,
            version: prompt.version.to_string(),
            actor: facts.actor.to_string(),
            approvers: approvers.clone(),
        });
    }
    // Fail closed: a run whose calls were never judged again is no evidence, whatever its
    // report.json says, even if no other condition names why.
    if refusals.is_empty() && e.judged.is_none() {
        refusals.push(Refusal::NotJudged {
            evidence: evidence(),
        });
    }
    if !refusals.is_empty() {
        return Decision::Refused(refusals);
    }
    Decision::Allowed {
        approvals: if prompt.sensitive {
            approvers
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const V2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const CRITERIA: &str =
        "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    const GOLDEN: &str = "sha256:9999999999999999999999999999999999999999999999999999999999999999";
    static NOBODY: BTreeSet<String> = BTreeSet::new();

    /// A promotion of `demo` V1 to staging that every condition allows.
    fn allowed() -> PromotionFacts<'static> {
        PromotionFacts {
            prompt: PromptFacts {
                id: "demo",
                version: V1,
                sensitive: false,
            },
            env: "staging",
            previous_env: Some(PreviousEnv {
                name: "dev",
                live: Some(V1),
            }),
            actor: "alice",
            approvers: &NOBODY,
            required_approvals: 2,
            evidence: EvidenceFacts {
                shown: "runs/r1",
                run_id: "r1",
                status: Status::Completed,
                prompt_id: "demo",
                prompt_version: V1,
                golden_hash: GOLDEN,
                criteria_path: "criteria/c.toml",
                criteria_version: 3,
                criteria_hash: CRITERIA,
                report: RecordedReport {
                    run_id: "r1",
                    prompt_version: V1,
                    criteria_hash: CRITERIA,
                    verdict: Verdict::Pass,
                    same_tool: true,
                },
                judged: Some(Verdict::Pass),
            },
            criteria: CriteriaNow::Loaded {
                version: 3,
                hash: CRITERIA,
                golden_pin: GOLDEN,
            },
        }
    }

    fn approvers(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    /// The refusals' sentences, or a panic when the promotion was allowed.
    fn refused(facts: &PromotionFacts<'_>) -> Vec<String> {
        match decide_promotion(facts) {
            Decision::Refused(refusals) => refusals.iter().map(ToString::to_string).collect(),
            allowed => panic!("expected a refusal, got {allowed:?}"),
        }
    }

    #[test]
    fn allows_a_passing_run_of_this_version_live_in_the_previous_env() {
        assert_eq!(
            decide_promotion(&allowed()),
            Decision::Allowed {
                approvals: Vec::new()
            }
        );
    }

    #[test]
    fn the_first_environment_has_no_previous_one_to_check() {
        let mut facts = allowed();
        facts.env = "dev";
        facts.previous_env = None;
        assert!(matches!(decide_promotion(&facts), Decision::Allowed { .. }));
    }

    #[test]
    fn refuses_a_run_that_did_not_complete() {
        let mut facts = allowed();
        facts.evidence.status = Status::Interrupted;
        facts.evidence.judged = None;
        assert_eq!(
            refused(&facts),
            ["the evidence run runs/r1 is interrupted, not completed"]
        );
    }

    #[test]
    fn refuses_a_report_that_is_not_the_runs_judgement() {
        let edits: [fn(&mut RecordedReport<'static>); 3] = [
            |r| r.run_id = "r2",
            |r| r.prompt_version = V2,
            |r| r.criteria_hash = GOLDEN,
        ];
        for edit in edits {
            let mut facts = allowed();
            edit(&mut facts.evidence.report);
            assert_eq!(
                refused(&facts),
                [
                    "the evidence run runs/r1's report.json is not the judgement of that run (its run id, prompt version or criteria differ from the manifest's)"
                ]
            );
        }
    }

    #[test]
    fn refuses_a_report_whose_verdict_the_recorded_calls_do_not_earn() {
        let mut facts = allowed();
        facts.evidence.judged = Some(Verdict::Fail);
        assert_eq!(
            decide_promotion(&facts),
            Decision::Refused(vec![Refusal::Altered {
                evidence: "runs/r1".to_string(),
                recorded: Verdict::Pass,
                judged: Verdict::Fail,
            }])
        );
        assert_eq!(
            refused(&facts),
            [
                "the evidence run runs/r1 was altered: its report.json says pass, its recorded calls judge fail"
            ]
        );
    }

    #[test]
    fn another_versions_pass_that_this_version_judges_fail_did_not_pass_but_was_not_altered() {
        let mut facts = allowed();
        facts.evidence.report.same_tool = false;
        facts.evidence.judged = Some(Verdict::Fail);
        assert_eq!(
            decide_promotion(&facts),
            Decision::Refused(vec![Refusal::DidNotPass {
                evidence: "runs/r1".to_string(),
                verdict: Verdict::Fail,
            }])
        );
    }

    #[test]
    fn refuses_a_failing_run_by_the_judged_verdict() {
        let mut facts = allowed();
        facts.evidence.report.verdict = Verdict::Fail;
        facts.evidence.judged = Some(Verdict::Fail);
        assert_eq!(
            refused(&facts),
            ["the evidence run runs/r1 did not pass (verdict fail)"]
        );
    }

    #[test]
    fn refuses_evidence_of_another_prompt_version() {
        let mut facts = allowed();
        facts.prompt.version = V2;
        facts.previous_env = Some(PreviousEnv {
            name: "dev",
            live: Some(V2),
        });
        assert_eq!(
            refused(&facts),
            ["the evidence run ran demo 111111111111, not demo 222222222222 (the prompt file now)"]
        );
    }

    #[test]
    fn refuses_criteria_that_cannot_be_read_now() {
        let mut facts = allowed();
        facts.criteria = CriteriaNow::Unreadable("criteria/c.toml: file not found".to_string());
        facts.evidence.judged = None;
        assert_eq!(
            refused(&facts),
            [
                "the evidence run's criteria file criteria/c.toml cannot be read now: criteria/c.toml: file not found"
            ]
        );
    }

    #[test]
    fn refuses_criteria_changed_since_the_run() {
        let mut facts = allowed();
        facts.criteria = CriteriaNow::Loaded {
            version: 4,
            hash: V2,
            golden_pin: GOLDEN,
        };
        facts.evidence.judged = None;
        assert_eq!(
            refused(&facts),
            [
                "the criteria file criteria/c.toml changed since the evidence run: version 3 (cccccccccccc) then, 4 (222222222222) now"
            ]
        );
    }

    #[test]
    fn refuses_a_golden_set_the_criteria_do_not_pin() {
        let mut facts = allowed();
        facts.evidence.golden_hash = V2;
        facts.evidence.judged = None;
        assert_eq!(
            refused(&facts),
            [
                "the evidence run's golden set hash 222222222222 is not the one the criteria pin (999999999999)"
            ]
        );
    }

    #[test]
    fn refuses_a_version_not_live_in_the_previous_env() {
        let mut facts = allowed();
        facts.previous_env = Some(PreviousEnv {
            name: "dev",
            live: None,
        });
        assert_eq!(
            refused(&facts),
            ["demo 111111111111 is not live in dev (live there: nothing): promote it to dev first"]
        );
        facts.previous_env = Some(PreviousEnv {
            name: "dev",
            live: Some(V2),
        });
        assert_eq!(
            refused(&facts),
            [
                "demo 111111111111 is not live in dev (live there: 222222222222): promote it to dev first"
            ]
        );
    }

    #[test]
    fn a_sensitive_prompt_needs_approvers_other_than_the_promoter() {
        let mut facts = allowed();
        facts.prompt.sensitive = true;
        assert_eq!(
            refused(&facts),
            [
                "demo is sensitive: staging needs 2 distinct approver(s) of version 111111111111 other than the promoter alice, it has 0"
            ]
        );
        let alice_and_bob = approvers(&["alice", "bob"]);
        facts.approvers = &alice_and_bob;
        assert_eq!(
            refused(&facts),
            [
                "demo is sensitive: staging needs 2 distinct approver(s) of version 111111111111 other than the promoter alice, it has 1 (bob)"
            ]
        );
        let three = approvers(&["alice", "bob", "carol"]);
        facts.approvers = &three;
        assert_eq!(
            decide_promotion(&facts),
            Decision::Allowed {
                approvals: vec!["bob".to_string(), "carol".to_string()]
            }
        );
    }

    #[test]
    fn approvals_of_a_prompt_that_is_not_sensitive_are_neither_needed_nor_recorded() {
        let mut facts = allowed();
        let bob = approvers(&["bob"]);
        facts.approvers = &bob;
        assert_eq!(
            decide_promotion(&facts),
            Decision::Allowed {
                approvals: Vec::new()
            }
        );
    }

    #[test]
    fn never_allows_a_run_whose_calls_were_not_judged_again() {
        let mut facts = allowed();
        facts.evidence.judged = None;
        assert_eq!(
            refused(&facts),
            ["the evidence run runs/r1's recorded calls were not judged again by its criteria"]
        );
    }

    #[test]
    fn names_every_failed_condition_in_order() {
        let mut facts = allowed();
        facts.prompt.sensitive = true;
        facts.prompt.version = V2;
        facts.evidence.judged = Some(Verdict::Fail);
        facts.evidence.report.verdict = Verdict::Fail;
        facts.criteria = CriteriaNow::Loaded {
            version: 3,
            hash: CRITERIA,
            golden_pin: V2,
        };
        let refusals = match decide_promotion(&facts) {
            Decision::Refused(refusals) => refusals,
            allowed => panic!("{allowed:?}"),
        };
        let kinds: Vec<&str> = refusals
            .iter()
            .map(|r| match r {
                Refusal::DidNotPass { .. } => "did not pass",
                Refusal::OtherVersion { .. } => "other version",
                Refusal::GoldenNotPinned { .. } => "golden",
                Refusal::NotLiveBefore { .. } => "not live before",
                Refusal::TooFewApprovals { .. } => "approvals",
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "did not pass",
                "other version",
                "golden",
                "not live before",
                "approvals"
            ]
        );
    }
}

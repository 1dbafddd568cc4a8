//! The one judging path: recorded calls → scores → samples → the criteria's verdict →
//! the report. `run` feeds it the calls it just made; `gate`, `merge`, `compare` and
//! `promote` feed it the calls a run directory recorded, re-scored from their outputs.
//! Whatever the command, passed, reasons and the verdict are computed here and only here.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::cost::Prices;
use crate::criteria::{Criteria, Metric};
use crate::error::{Error, Location, Result};
use crate::gate::{self, Failure, Sample, SlotScore, Usage};
use crate::golden::GoldenSet;
use crate::project::Project;
use crate::rundir::calls::{CallReader, CallRecord, ReadMode};
use crate::rundir::{CriteriaRef, Identity, Manifest, Report};
use crate::score::{JudgeCall, Observation, Score, Scorer, ScorerSet, snippet};

/// Characters of a failing output kept for reports.
const FAILING_OUTPUT_CHARS: usize = 300;

/// What judging needs: the criteria, the golden set they pin (hash checked) and the
/// compiled scorers.
pub struct Judging {
    pub criteria: Criteria,
    pub golden: GoldenSet,
    pub scorers: ScorerSet,
    /// The prices `[cost]` pins (hash checked); None without `[cost]`.
    pub prices: Option<Prices>,
    /// Each case as a `command` scorer reads it; empty when no scorer runs a program.
    cases_json: Vec<serde_json::Value>,
}

impl Judging {
    pub fn load(criteria_path: &Path) -> Result<Judging> {
        let criteria = Criteria::load(criteria_path)?;
        let golden_path = criteria.golden_path();
        let golden = GoldenSet::load(&golden_path)?;
        if golden.hash != criteria.golden.sha256 {
            return Err(Error::input(
                Location::file(&golden_path),
                format!(
                    "golden set hash {} does not match the {} pinned by {}: the golden set \
                     changed since the criteria were written. If the change is intended, \
                     update [golden] sha256 in {} (and its version)",
                    golden.hash,
                    criteria.golden.sha256,
                    criteria.path.display(),
                    criteria.path.display()
                ),
            ));
        }
        let prices = match (&criteria.cost, criteria.prices_path()) {
            (Some(pin), Some(path)) => Some(Prices::load(&path, &pin.sha256, &criteria.path)?),
            _ => None,
        };
        let scorers = compile_scorers(&criteria, &golden)?;
        check_gates(&criteria, &golden, &scorers)?;
        let runs_programs =
            (0..golden.cases.len()).any(|i| scorers.for_case(i).any(|s| s.runs_a_program()));
        let cases_json = if runs_programs {
            golden
                .cases
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id,
                        "vars": c.vars,
                        "expected": c.expected,
                        "tags": c.tags,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Judging {
            criteria,
            golden,
            scorers,
            prices,
            cases_json,
        })
    }

    /// The criteria as a manifest or report records them.
    pub fn criteria_ref(&self, project: &Project) -> CriteriaRef {
        CriteriaRef {
            path: project.relative(&self.criteria.path),
            version: self.criteria.version,
            hash: self.criteria.hash.clone(),
        }
    }

    /// Position of each case id in the golden set.
    pub fn case_index(&self) -> HashMap<&str, usize> {
        self.golden
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect()
    }

    /// True when a scorer runs a program (`command`): scoring then blocks on it.
    pub fn runs_programs(&self) -> bool {
        !self.cases_json.is_empty()
    }

    /// Scores one output of the case at golden position `case` with every scorer that
    /// applies to it, named. `llm_judge` scorers read the judge answers in `judge_calls`
    /// (made by the run, or recorded in calls.jsonl): judging never calls a judge.
    pub fn score(
        &self,
        case: usize,
        output: &str,
        latency_ms: u64,
        judge_calls: &[JudgeCall],
    ) -> Vec<(String, Score)> {
        let observation = Observation {
            output,
            latency_ms,
            expected: self.golden.cases[case].expected.as_ref(),
            case: self.cases_json.get(case),
            judge_calls,
        };
        self.scorers
            .score(case, &observation)
            .into_iter()
            .map(|(slot, score)| (self.scorers.names[slot].clone(), score))
            .collect()
    }

    /// Re-scores a recorded call from its output and its recorded judge answers (a failed
    /// call has no scores): what a record says about its own scores is never trusted.
    pub fn rescore(&self, case: usize, record: &mut CallRecord) {
        record.scores = if record.error.is_none() {
            self.score(case, &record.output, record.latency_ms, &record.judge_calls)
        } else {
            Vec::new()
        };
    }

    /// What the verdict needs of one scored call of the case at golden position `case`.
    pub fn sample(&self, case: usize, record: &CallRecord) -> Sample {
        let passed = record.passed();
        let scores = record.error.is_none().then(|| {
            record
                .scores
                .iter()
                .map(|(name, s)| SlotScore {
                    slot: self.scorers.slot(name).expect("scored by these scorers"),
                    score: s.score,
                    passed: s.passed,
                })
                .collect()
        });
        Sample {
            case,
            repeat: record.repeat,
            latency_ms: record.latency_ms,
            passed,
            scores,
            failure: (!passed).then(|| {
                Box::new(Failure {
                    reasons: record.reasons(),
                    output: snippet(&record.output, FAILING_OUTPUT_CHARS),
                })
            }),
            usage: self.usage(record),
        }
    }

    /// The tokens of a record's calls (candidate and judges) and their cost.
    fn usage(&self, record: &CallRecord) -> Usage {
        let calls = std::iter::once((&record.model, record.tokens_in, record.tokens_out)).chain(
            record
                .judge_calls
                .iter()
                .map(|j| (&j.model, j.tokens_in, j.tokens_out)),
        );
        let mut usage = Usage {
            tokens_in: 0,
            tokens_out: 0,
            cost: Ok(0.0),
        };
        for (model, tokens_in, tokens_out) in calls {
            usage.tokens_in += tokens_in.unwrap_or(0);
            usage.tokens_out += tokens_out.unwrap_or(0);
            let Some(prices) = &self.prices else {
                usage.cost = Err(None);
                continue;
            };
            if let Ok(sum) = usage.cost {
                usage.cost = match prices.call_cost(model, tokens_in, tokens_out) {
                    Ok(cost) => Ok(sum + cost),
                    Err(e) => Err(Some(
                        format!("case {:?} repeat {}: {e}", record.case_id, record.repeat).into(),
                    )),
                };
            }
        }
        usage
    }

    /// Reads the calls `manifest`'s run recorded in `run_dir`, checks that each line is that
    /// run's own (run id, prompt version, a case of the golden set, a repeat in range, each
    /// (case, repeat) once), re-scores it, and hands it to `each` with its golden position.
    /// Returns the samples and the line a repair cut off (RepairTornTail only).
    pub fn read_run(
        &self,
        manifest: &Manifest,
        run_dir: &Path,
        mode: ReadMode,
        mut each: impl FnMut(usize, CallRecord),
    ) -> Result<(Vec<Sample>, Option<usize>)> {
        let run_ids = manifest.line_run_ids();
        let version = &manifest.identity.prompt.version;
        let index = self.case_index();
        let mut reader = CallReader::open(run_dir, mode)?;
        let mut seen: HashSet<(usize, u32)> = HashSet::new();
        let mut samples = Vec::new();
        while let Some((line, mut record)) = reader.next_record()? {
            let at = || Location::line(reader.path(), line);
            let Some(&case) = index.get(record.case_id.as_str()) else {
                return Err(Error::input(
                    at(),
                    format!(
                        "case {:?} is not in {}",
                        record.case_id,
                        self.golden.path.display()
                    ),
                ));
            };
            if &record.prompt_version != version || !run_ids.contains(&record.run_id.as_str()) {
                return Err(Error::input(
                    at(),
                    format!(
                        "the line was written by run {} of prompt version {}, not by this run ({} of {})",
                        record.run_id,
                        crate::digest::short(&record.prompt_version),
                        run_ids.join(", "),
                        crate::digest::short(version)
                    ),
                ));
            }
            if record.repeat >= manifest.repeats {
                return Err(Error::input(
                    at(),
                    format!(
                        "repeat {} is beyond the run's {} repeats",
                        record.repeat, manifest.repeats
                    ),
                ));
            }
            if !seen.insert((case, record.repeat)) {
                return Err(Error::input(
                    at(),
                    format!(
                        "case {:?} repeat {} is recorded twice",
                        record.case_id, record.repeat
                    ),
                ));
            }
            self.rescore(case, &mut record);
            samples.push(self.sample(case, &record));
            each(case, record);
        }
        Ok((samples, reader.repaired()))
    }

    /// Judges one sample per (case, repeat) by the criteria and returns the report of run
    /// `run_id`. Samples may come in any order; a missing one fails the verdict.
    pub fn judge(
        &self,
        run_id: &str,
        identity: Identity,
        repeats: u32,
        samples: &mut [Sample],
    ) -> Report {
        samples.sort_unstable_by_key(|s| (s.case, s.repeat));
        let judgement = gate::judge(
            &self.criteria,
            &self.golden,
            &self.scorers,
            repeats,
            samples,
        );
        Report::new(run_id, identity, repeats, judgement)
    }

    /// Refuses a run directory whose report.json is not what its recorded calls judge to
    /// by the same criteria. What no version of promptgate judges differently (each gate's
    /// measured value, which cases failed) must always agree; the verdict and each gate's
    /// pass must agree when report.json was written by this version (another version may
    /// compute intervals differently, and its verdict then stands as its own, not as ours).
    pub fn check_recorded(
        manifest: &Manifest,
        recorded: &Report,
        judged: &Report,
        run_dir: &Path,
    ) -> Result<()> {
        let same_tool = recorded.tool_version == judged.tool_version;
        let altered = |file: &str, says: String| {
            Error::input(
                Location::file(run_dir.join(file)),
                format!(
                    "says {says}, but the run's recorded calls judge otherwise by the same criteria ({}): the run directory was altered after the run; it is not evidence",
                    judged.verdict_word()
                ),
            )
        };
        if same_tool
            && let Some(verdict) = &manifest.verdict
            && verdict != judged.verdict_word()
        {
            return Err(altered(
                crate::rundir::manifest::FILE_NAME,
                format!("verdict {verdict}"),
            ));
        }
        // Per gate: metric, tag, measured value, and (same version only) whether it held.
        type GateFacts = (String, Option<String>, Option<String>, Option<bool>);
        let gates = |r: &Report| -> Vec<GateFacts> {
            r.judgement
                .gates
                .iter()
                .map(|g| {
                    (
                        g.metric.clone(),
                        g.tag.clone(),
                        g.value.map(|v| format!("{v:.9}")),
                        same_tool.then_some(g.passed),
                    )
                })
                .collect()
        };
        let failing = |r: &Report| -> Vec<(String, u32)> {
            let mut ids: Vec<(String, u32)> = r
                .judgement
                .failing_cases
                .iter()
                .map(|c| (c.id.clone(), c.repeat))
                .collect();
            ids.sort_unstable();
            ids
        };
        let verdicts_agree = !same_tool || recorded.verdict_word() == judged.verdict_word();
        if verdicts_agree
            && gates(recorded) == gates(judged)
            && failing(recorded) == failing(judged)
        {
            return Ok(());
        }
        Err(altered(
            crate::rundir::report::FILE_NAME,
            recorded.verdict_word().to_string(),
        ))
    }

    /// Judges a finished whole run again from its recorded calls, by these criteria: every
    /// line checked (see `read_run`), every (case, repeat) required. `each` sees each record.
    pub fn rejudge(
        &self,
        manifest: &Manifest,
        run_dir: &Path,
        identity: Identity,
        each: impl FnMut(usize, CallRecord),
    ) -> Result<Report> {
        let (mut samples, _) = self.read_run(manifest, run_dir, ReadMode::Strict, each)?;
        Judging::require_complete(
            samples.len(),
            self.golden.cases.len() * manifest.repeats as usize,
            &run_dir.join(crate::rundir::calls::FILE_NAME),
        )?;
        Ok(self.judge(&manifest.run_id, identity, manifest.repeats, &mut samples))
    }

    /// Refuses a run whose calls do not cover every (case, repeat) `expected` counts.
    pub fn require_complete(samples: usize, expected: usize, calls: &Path) -> Result<()> {
        if samples == expected {
            return Ok(());
        }
        Err(Error::input(
            Location::file(calls),
            format!("{samples} of {expected} calls are recorded: the run is incomplete"),
        ))
    }
}

fn compile_scorers(criteria: &Criteria, golden: &GoldenSet) -> Result<ScorerSet> {
    // A `command` scorer runs in the criteria file's folder, as its golden path is read
    // relative to it.
    let base = criteria
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut global = Vec::new();
    for named in &criteria.scorers {
        let scorer = Scorer::compile_in(&named.spec, &base).map_err(|e| {
            Error::input(
                Location::line(&criteria.path, named.line),
                format!("scorer {:?}: {e}", named.spec.name),
            )
        })?;
        global.push(scorer);
    }
    let mut set = ScorerSet::new(global, golden.cases.len());
    for (index, case) in golden.cases.iter().enumerate() {
        let at = || Location::line(&golden.path, case.line);
        for spec in &case.asserts {
            let scorer = Scorer::compile_in(spec, &base).map_err(|e| {
                Error::input(
                    at(),
                    format!("case {:?}: assert {:?}: {e}", case.id, spec.name),
                )
            })?;
            set.add_case_scorer(index, scorer)
                .map_err(|e| Error::input(at(), format!("case {:?}: {e}", case.id)))?;
        }
        let mut scorers = 0;
        for scorer in set.for_case(index) {
            scorers += 1;
            if let Some(judge) = scorer.judge()
                && let Some(missing) = judge.missing_variables(&case.vars).first()
            {
                return Err(Error::input(
                    at(),
                    format!(
                        "case {:?} has no variable {missing:?}, which the judge prompt {} of scorer {:?} uses; add it to the case's vars",
                        case.id,
                        judge.prompt.path.display(),
                        scorer.name
                    ),
                ));
            }
            scorer
                .check_expected(case.expected.as_ref())
                .map_err(|e| Error::input(at(), format!("case {:?}: {e}", case.id)))?;
        }
        for name in case.labels.keys() {
            match set.for_case(index).find(|s| &s.name == name) {
                None => {
                    let names: Vec<&str> = set.for_case(index).map(|s| s.name.as_str()).collect();
                    return Err(Error::input(
                        at(),
                        format!(
                            "case {:?}: label {name:?} names no scorer of this case (its scorers: {}); a label is the human's pass/fail for an llm_judge scorer",
                            case.id,
                            names.join(", ")
                        ),
                    ));
                }
                Some(scorer) if scorer.judge().is_none() => {
                    return Err(Error::input(
                        at(),
                        format!(
                            "case {:?}: label {name:?}: scorer {name:?} is of type {}, not llm_judge; only judged scorers take human labels",
                            case.id,
                            scorer.spec.type_name()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        // A case nothing scores would pass whatever the model says.
        if scorers == 0 {
            return Err(Error::input(
                at(),
                format!(
                    "case {:?} has no scorer: add [[scorers]] to {} or an `assert` list to the case",
                    case.id,
                    criteria.path.display()
                ),
            ));
        }
    }
    if criteria.judge.min_kappa.is_some() && set.judged_slots().is_empty() {
        return Err(Error::input(
            Location::line(&criteria.path, criteria.judge.line),
            "[judge] min_kappa is set, but no scorer is of type llm_judge: there is no judge to measure",
        ));
    }
    if set.is_empty() {
        return Err(Error::input(
            Location::file(&criteria.path),
            "no scorers: add [[scorers]] (or `assert` lists to the golden cases); \
             without them every output would pass",
        ));
    }
    Ok(set)
}

fn check_gates(criteria: &Criteria, golden: &GoldenSet, scorers: &ScorerSet) -> Result<()> {
    let tags: HashSet<&str> = golden
        .cases
        .iter()
        .flat_map(|c| c.tags.iter().map(String::as_str))
        .collect();
    for gate in &criteria.gates {
        let at = || Location::line(&criteria.path, gate.line);
        if let Some(name) = gate.metric.scorer()
            && scorers.slot(name).is_none()
        {
            return Err(Error::input(
                at(),
                format!(
                    "gate {}: no scorer is named {name:?} (scorers: {})",
                    gate.metric,
                    scorers.names.join(", ")
                ),
            ));
        }
        if let Some(name) = gate.metric.scorer() {
            // A scorer that only some cases assert must apply somewhere in the gate's slice,
            // or the gate could never be measured.
            let slot = scorers.slot(name).expect("checked above");
            let applies = golden.cases.iter().enumerate().any(|(i, c)| {
                gate.tag.as_ref().is_none_or(|t| c.has_tag(t))
                    && scorers.slots_for_case(i).any(|s| s == slot)
            });
            if !applies {
                return Err(Error::input(
                    at(),
                    format!(
                        "gate {}{}: no case{} has the scorer {name:?}",
                        gate.metric,
                        gate.tag
                            .as_ref()
                            .map(|t| format!(" [{t}]"))
                            .unwrap_or_default(),
                        gate.tag
                            .as_ref()
                            .map(|t| format!(" tagged {t:?}"))
                            .unwrap_or_default(),
                    ),
                ));
            }
        }
        if let Some(tag) = &gate.tag
            && golden.cases.iter().all(|c| c.has_tag(tag))
        {
            crate::interrupt::note(format_args!(
                "promptgate: warning: {}:{}: every case is tagged {tag:?}, so gate {} [{tag}] judges the same cases as an untagged one",
                criteria.path.display(),
                gate.line,
                gate.metric
            ));
        }
        if let Some(tag) = &gate.tag
            && !tags.contains(tag.as_str())
        {
            return Err(Error::input(
                at(),
                format!(
                    "gate {} [{tag}]: no case in {} has the tag {tag:?}",
                    gate.metric,
                    golden.path.display()
                ),
            ));
        }
    }
    if let Some(policy) = &criteria.compare {
        let at = || Location::file(&criteria.path);
        match &policy.metric {
            Metric::PassRate => {}
            Metric::ScorerMean(name) | Metric::ScorerPassRate(name)
                if scorers.slot(name).is_some() => {}
            Metric::ScorerMean(name) | Metric::ScorerPassRate(name) => {
                return Err(Error::input(
                    at(),
                    format!(
                        "[compare] metric {}: no scorer is named {name:?} (scorers: {})",
                        policy.metric,
                        scorers.names.join(", ")
                    ),
                ));
            }
            other => {
                return Err(Error::input(
                    at(),
                    format!(
                        "[compare] metric {other}: compare judges pass_rate, pass_rate:<scorer> or mean:<scorer>"
                    ),
                ));
            }
        }
    }
    for id in &criteria.must_pass {
        if !golden.cases.iter().any(|c| &c.id == id) {
            return Err(Error::input(
                Location::file(&criteria.path),
                format!(
                    "must_pass names case {id:?}, which is not in {}",
                    golden.path.display()
                ),
            ));
        }
    }
    Ok(())
}

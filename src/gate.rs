//! Aggregates over a run's samples, and the criteria's gates judged on them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::criteria::{Criteria, Metric};
use crate::golden::GoldenSet;
use crate::score::ScorerSet;
use crate::stats::{self, Interval};

/// The level of the interval every gate reports when it does not set its own `confidence`.
const DISPLAY_CONFIDENCE: f64 = 0.95;

/// What judging needs of one (case, repeat): small, so a 100k-case run stays small.
#[derive(Debug, Clone)]
pub struct Sample {
    pub case: usize,
    pub repeat: u32,
    pub latency_ms: u64,
    /// The call succeeded and every scorer passed (`CallRecord::passed`).
    pub passed: bool,
    /// None when the call failed; a failed call passes nothing.
    pub scores: Option<Vec<SlotScore>>,
    /// Why it failed, kept only for failing samples.
    pub failure: Option<Box<Failure>>,
    /// Tokens and cost of its calls (the candidate's and its judges').
    pub usage: Usage,
}

/// The tokens of one sample's calls (candidate and judge), summed, and their cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Summed over the calls that report token counts.
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// USD, or why it could not be priced: `None` for no price file (the common case,
    /// kept free of a per-sample allocation), else a model with no price or a call without
    /// token counts.
    pub cost: std::result::Result<f64, Option<Box<str>>>,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            tokens_in: 0,
            tokens_out: 0,
            cost: Err(None),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SlotScore {
    pub slot: usize,
    pub score: f64,
    pub passed: bool,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub reasons: Vec<String>,
    pub output: String,
}

impl Sample {
    pub fn passed(&self) -> bool {
        self.passed
    }

    fn errored(&self) -> bool {
        self.scores.is_none()
    }

    /// (score, passed) of one scorer, or None when it does not apply to this case. A failed
    /// call takes the worst value for the bound being tested: 0 and failed against a `min`,
    /// 1 and passed against a `max`; it can never help a gate hold.
    fn scorer(&self, slot: usize, applies: bool, worst: Worst) -> Option<(f64, bool)> {
        match &self.scores {
            Some(scores) => scores
                .iter()
                .find(|s| s.slot == slot)
                .map(|s| (s.score, s.passed)),
            None if applies => Some(match worst {
                Worst::Low => (0.0, false),
                Worst::High => (1.0, true),
            }),
            None => None,
        }
    }
}

/// Which end of a metric a failed call is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Worst {
    Low,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateResult {
    pub metric: String,
    pub tag: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// None when nothing could be measured (which fails the gate).
    pub value: Option<f64>,
    /// The value's confidence interval; none for latency percentiles. Rates: Wilson, and
    /// with repeats Wilson on the effective sample size (samples / Kish design effect, so
    /// identical repeats count as one sample per case); means: the wider of the
    /// case-clustered normal interval and Wilson's at the mean over distinct cases.
    pub interval: Option<Interval>,
    pub confidence: f64,
    /// True when the gate set `confidence`: then the thresholds were tested on the interval.
    #[serde(default)]
    pub tested_on_interval: bool,
    pub passed: bool,
    /// How many samples the value was measured on.
    pub samples: usize,
    /// The `[[gates]]` table's line in the criteria file.
    pub line: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MustPassResult {
    pub id: String,
    pub passed: bool,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub samples: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub pass_rate: f64,
    pub p50_latency_ms: Option<u64>,
    pub p95_latency_ms: Option<u64>,
    pub max_latency_ms: Option<u64>,
    /// Tokens of every call, candidate and judge (calls without counts add nothing).
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    /// The run's cost in USD from `[cost] prices`; None when any call could not be priced.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Why `cost_usd` is None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_unavailable: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScorerAggregate {
    pub name: String,
    pub samples: usize,
    pub mean: f64,
    pub pass_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagAggregate {
    pub tag: String,
    pub cases: usize,
    pub samples: usize,
    pub pass_rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailingCase {
    pub id: String,
    pub repeat: u32,
    pub line: usize,
    pub tags: Vec<String>,
    pub must_pass: bool,
    pub reasons: Vec<String>,
    pub output: String,
}

/// Everything judged from one run's samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub gates: Vec<GateResult>,
    pub must_pass: Vec<MustPassResult>,
    pub summary: Summary,
    pub scorers: Vec<ScorerAggregate>,
    pub tags: Vec<TagAggregate>,
    pub failing_cases: Vec<FailingCase>,
    /// The accuracy of each judged scorer against the golden set's human labels; absent
    /// when no case is labelled and `[judge] min_kappa` is unset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<JudgeAccuracy>,
}

/// How far one `llm_judge` scorer agrees with the human labels of the golden set, and its
/// pass rate corrected for the judge's measured errors.
///
/// The unit is the sample: with `--repeat K` each judged repeat of a labelled case counts
/// against the case's one label. A sample whose candidate call failed has no verdict and is
/// left out; a judge error (an answer that could not be parsed) is a judge fail. A figure
/// that cannot be computed is null, and `undefined` says why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JudgeAccuracy {
    pub scorer: String,
    /// Judged samples of labelled cases.
    pub labelled: usize,
    pub agreement: stats::Agreement,
    /// P(judge pass | human pass).
    pub true_positive_rate: Option<f64>,
    /// P(judge fail | human fail).
    pub true_negative_rate: Option<f64>,
    /// Cohen's kappa of the judge's verdicts against the labels.
    pub kappa: Option<f64>,
    /// Judged samples, labelled or not.
    pub judged: usize,
    /// The judge's pass rate over every judged sample.
    pub observed_pass_rate: Option<f64>,
    /// Wilson interval of the observed rate (on the effective sample size with repeats).
    pub observed_ci: Option<Interval>,
    /// Rogan–Gladen: `(observed + TNR − 1)/(TPR + TNR − 1)`, clamped to [0, 1].
    pub corrected_pass_rate: Option<f64>,
    /// The correction applied to both ends of `observed_ci`; it treats TPR and TNR as exact,
    /// so it ignores their uncertainty and is too narrow with few labels.
    pub corrected_ci: Option<Interval>,
    pub confidence: f64,
    /// Why each null figure is null.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undefined: Vec<String>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: u8) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p as f64 / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

struct Judge<'a> {
    golden: &'a GoldenSet,
    scorers: &'a ScorerSet,
    samples: &'a [Sample],
}

impl Judge<'_> {
    fn in_slice<'s>(&'s self, tag: Option<&'s str>) -> impl Iterator<Item = &'s Sample> + 's {
        self.samples
            .iter()
            .filter(move |s| tag.is_none_or(|t| self.golden.cases[s.case].has_tag(t)))
    }

    fn applies(&self, sample: &Sample, slot: usize) -> bool {
        self.scorers.slots_for_case(sample.case).any(|s| s == slot)
    }

    /// The metric's value on a slice, its confidence interval where one applies (Wilson
    /// for rates, on the effective sample size with repeats; a case-clustered interval for
    /// means), and the sample count.
    fn measure(
        &self,
        metric: &Metric,
        tag: Option<&str>,
        confidence: f64,
        worst: Worst,
    ) -> (Option<f64>, Option<Interval>, usize) {
        match metric {
            Metric::PassRate => {
                let (passes, cases): (Vec<bool>, Vec<usize>) = self
                    .in_slice(tag)
                    .map(|s| (s.passed() || (s.errored() && worst == Worst::High), s.case))
                    .unzip();
                let n = passes.len();
                let passed = passes.iter().filter(|p| **p).count();
                (
                    ratio(passed as f64, n),
                    rate_interval(&passes, &cases, confidence),
                    n,
                )
            }
            Metric::ScorerPassRate(name) | Metric::ScorerMean(name) => {
                let slot = self
                    .scorers
                    .slot(name)
                    .expect("gate scorers are checked in the plan");
                let mut values = Vec::new();
                let mut passes = Vec::new();
                let mut cases = Vec::new();
                for sample in self.in_slice(tag) {
                    if let Some((score, passed)) =
                        sample.scorer(slot, self.applies(sample, slot), worst)
                    {
                        values.push(if matches!(metric, Metric::ScorerMean(_)) {
                            score
                        } else {
                            passed as u8 as f64
                        });
                        passes.push(passed);
                        cases.push(sample.case);
                    }
                }
                let n = values.len();
                let sum: f64 = values.iter().sum();
                let interval = match metric {
                    Metric::ScorerPassRate(_) => rate_interval(&passes, &cases, confidence),
                    _ if n == 0 => None,
                    _ => Some({
                        // Scores live in [0, 1], so a mean is no more certain than a pass
                        // rate of the same cases: the interval is the wider of the
                        // clustered normal one and Wilson's at the mean over distinct cases.
                        // A handful of identical scores never yields a zero-width interval.
                        let ci = stats::clustered_mean(&values, &cases, confidence).interval;
                        let distinct = cases.iter().collect::<std::collections::HashSet<_>>().len();
                        let bounded = wilson_at(sum / n as f64, distinct as f64, confidence);
                        Interval {
                            low: ci.low.min(bounded.low).max(0.0),
                            high: ci.high.max(bounded.high).min(1.0),
                        }
                    }),
                };
                (ratio(sum, n), interval, n)
            }
            Metric::LatencyPercentile(p) => {
                // A failed call (a timeout, often) counts as infinitely slow: if the
                // percentile lands on one, nothing was measured and the gate fails.
                let mut latencies: Vec<u64> = self
                    .in_slice(tag)
                    .map(|s| if s.errored() { u64::MAX } else { s.latency_ms })
                    .collect();
                latencies.sort_unstable();
                (
                    percentile(&latencies, *p)
                        .filter(|&v| v != u64::MAX)
                        .map(|v| v as f64),
                    None,
                    latencies.len(),
                )
            }
            // Fails closed: one call that could not be priced leaves the run unmeasured.
            Metric::CostUsd => (run_cost(self.samples).ok(), None, self.samples.len()),
        }
    }
}

const NO_PRICE_FILE: &str = "no price file: add [cost] prices to the criteria";

/// The run's cost in USD, or why it could not be priced (the first reason met).
pub fn run_cost(samples: &[Sample]) -> std::result::Result<f64, String> {
    samples.iter().try_fold(0.0, |sum, s| match &s.usage.cost {
        Ok(cost) => Ok(sum + cost),
        Err(Some(why)) => Err(why.to_string()),
        Err(None) => Err(NO_PRICE_FILE.to_string()),
    })
}

/// The interval of a pass rate measured on `passes` (one per sample, `cases` its case), or
/// None when nothing was measured.
///
/// One sample per case: Wilson. With repeats the samples of a case are not independent, so
/// the interval is Wilson on the effective sample size (`stats::clustered_wilson`: Kish
/// design effect from the intra-case correlation, Rao–Scott adjustment): identical repeats
/// give exactly the repeat-1 interval, so `--repeat` can never turn a failing confidence gate
/// into a passing one by repetition alone.
fn rate_interval(passes: &[bool], cases: &[usize], confidence: f64) -> Option<Interval> {
    (!passes.is_empty()).then(|| stats::clustered_wilson(passes, cases, confidence).interval)
}

/// The Wilson score interval at proportion `p` observed on `n` trials.
fn wilson_at(p: f64, n: f64, confidence: f64) -> Interval {
    use statrs::distribution::{ContinuousCDF, Normal};
    let z = Normal::standard().inverse_cdf(0.5 + confidence / 2.0);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Interval {
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    }
}

fn ratio(numerator: f64, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator / denominator as f64)
}

/// Judges `samples` (one per (case, repeat)) against the criteria.
pub fn judge(
    criteria: &Criteria,
    golden: &GoldenSet,
    scorers: &ScorerSet,
    repeats: u32,
    samples: &[Sample],
) -> Judgement {
    let judge = Judge {
        golden,
        scorers,
        samples,
    };
    let gates: Vec<GateResult> = criteria
        .gates
        .iter()
        .map(|gate| {
            let level = gate.confidence.unwrap_or(DISPLAY_CONFIDENCE);
            let tag = gate.tag.as_deref();
            // Failed calls are pinned to the worst end for each bound, so a `max` gate is
            // measured with them high and a `min` gate with them low.
            let (value, interval, n) = judge.measure(
                &gate.metric,
                tag,
                level,
                if gate.min.is_some() {
                    Worst::Low
                } else {
                    Worst::High
                },
            );
            let (value_high, interval_high, _) = if gate.min.is_some() && gate.max.is_some() {
                judge.measure(&gate.metric, tag, level, Worst::High)
            } else {
                (value, interval, n)
            };
            // With `confidence`, a gate must hold for the whole interval: `min` is tested on
            // its lower end and `max` on its upper end, not on the point estimate.
            let (low, high) = match (gate.confidence, interval, interval_high) {
                (Some(_), Some(ci), Some(ci_high)) => (Some(ci.low), Some(ci_high.high)),
                _ => (value, value_high),
            };
            let passed = value.is_some()
                && value_high.is_some()
                && gate.min.is_none_or(|min| low.is_some_and(|v| v >= min))
                && gate.max.is_none_or(|max| high.is_some_and(|v| v <= max));
            GateResult {
                metric: gate.metric.to_string(),
                tag: gate.tag.clone(),
                min: gate.min,
                max: gate.max,
                value,
                interval,
                confidence: level,
                tested_on_interval: gate.confidence.is_some(),
                passed,
                samples: n,
                line: gate.line,
            }
        })
        .collect();

    let judges = judge_accuracy(&judge, criteria.judge.min_kappa.is_some());
    let mut gates = gates;
    if let Some(min) = criteria.judge.min_kappa {
        // Fails closed: a kappa that could not be measured fails the check.
        gates.extend(judges.iter().map(|j| GateResult {
            metric: format!("kappa:{}", j.scorer),
            tag: None,
            min: Some(min),
            max: None,
            value: j.kappa,
            interval: None,
            confidence: DISPLAY_CONFIDENCE,
            tested_on_interval: false,
            passed: j.kappa.is_some_and(|k| k >= min),
            samples: j.labelled,
            line: criteria.judge.line,
        }));
    }

    let index: HashMap<&str, usize> = golden
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let must_pass: Vec<MustPassResult> = criteria
        .must_pass
        .iter()
        .map(|id| {
            let case = index[id.as_str()];
            let mut own = samples.iter().filter(|s| s.case == case).peekable();
            // A case with no sample was not measured: that is a failure, never a pass.
            let passed = own.peek().is_some() && own.all(Sample::passed);
            MustPassResult {
                id: id.clone(),
                passed,
                line: golden.cases[case].line,
            }
        })
        .collect();

    // Every gate measured on every case: a missing sample, or a run in which no call
    // succeeded, can never pass.
    let complete = samples.len() == golden.cases.len() * repeats as usize;
    let any_success = samples.iter().any(|s| !s.errored());
    let verdict = if complete
        && any_success
        && gates.iter().all(|g| g.passed)
        && must_pass.iter().all(|m| m.passed)
    {
        Verdict::Pass
    } else {
        Verdict::Fail
    };

    Judgement {
        verdict,
        summary: summarize(samples),
        scorers: scorer_aggregates(&judge),
        tags: tag_aggregates(&judge),
        failing_cases: failing_cases(golden, criteria, &gates, samples),
        gates,
        must_pass,
        judges,
    }
}

/// The accuracy of every judged scorer with labelled cases (of every judged scorer when
/// `all`, as `min_kappa` needs a figure, or a reason, for each).
fn judge_accuracy(judge: &Judge<'_>, all: bool) -> Vec<JudgeAccuracy> {
    let mut out = Vec::new();
    for slot in judge.scorers.judged_slots() {
        let name = &judge.scorers.names[slot];
        let mut agreement = stats::Agreement::default();
        let mut passes = Vec::new();
        let mut clusters = Vec::new();
        for sample in judge.samples {
            let Some(scores) = &sample.scores else {
                continue;
            };
            let Some(score) = scores.iter().find(|s| s.slot == slot) else {
                continue;
            };
            passes.push(score.passed);
            clusters.push(sample.case);
            if let Some(&human) = judge.golden.cases[sample.case].labels.get(name) {
                agreement.add(score.passed, human);
            }
        }
        if agreement.total() == 0 && !all {
            continue;
        }
        let mut undefined = Vec::new();
        let tpr = agreement.true_positive_rate();
        let tnr = agreement.true_negative_rate();
        let kappa = agreement.kappa();
        if agreement.total() == 0 {
            undefined.push("no judged sample has a human label".to_string());
        } else {
            if tpr.is_none() {
                undefined
                    .push("true_positive_rate: no labelled sample is a human pass".to_string());
            }
            if tnr.is_none() {
                undefined
                    .push("true_negative_rate: no labelled sample is a human fail".to_string());
            }
            if kappa.is_none() {
                undefined.push(
                    "kappa: the judge and the labels each give one and the same verdict throughout, so agreement by chance is certain"
                        .to_string(),
                );
            }
        }
        let observed = (!passes.is_empty())
            .then(|| stats::clustered_wilson(&passes, &clusters, DISPLAY_CONFIDENCE));
        if observed.is_none() {
            undefined.push("observed_pass_rate: no sample was judged".to_string());
        }
        let (corrected, corrected_ci) = match (&observed, tpr, tnr) {
            (Some(o), Some(tpr), Some(tnr)) if tpr + tnr > 1.0 => (
                stats::rogan_gladen(o.p, tpr, tnr),
                stats::rogan_gladen_interval(o.interval, tpr, tnr),
            ),
            (Some(_), Some(tpr), Some(tnr)) => {
                undefined.push(format!(
                    "corrected_pass_rate: TPR + TNR = {:.4} is not above 1 (the judge is no better than chance)",
                    tpr + tnr
                ));
                (None, None)
            }
            _ => {
                if observed.is_some() {
                    undefined.push(
                        "corrected_pass_rate: needs both the true-positive and the true-negative rate"
                            .to_string(),
                    );
                }
                (None, None)
            }
        };
        out.push(JudgeAccuracy {
            scorer: name.clone(),
            labelled: agreement.total() as usize,
            agreement,
            true_positive_rate: tpr,
            true_negative_rate: tnr,
            kappa,
            judged: passes.len(),
            observed_pass_rate: observed.as_ref().map(|o| o.p),
            observed_ci: observed.as_ref().map(|o| o.interval),
            corrected_pass_rate: corrected,
            corrected_ci,
            confidence: DISPLAY_CONFIDENCE,
            undefined,
        });
    }
    out
}

fn summarize(samples: &[Sample]) -> Summary {
    let passed = samples.iter().filter(|s| s.passed()).count();
    let errors = samples.iter().filter(|s| s.errored()).count();
    let mut latencies: Vec<u64> = samples
        .iter()
        .filter(|s| !s.errored())
        .map(|s| s.latency_ms)
        .collect();
    latencies.sort_unstable();
    let cost = run_cost(samples);
    Summary {
        samples: samples.len(),
        passed,
        failed: samples.len() - passed,
        errors,
        pass_rate: ratio(passed as f64, samples.len()).unwrap_or(0.0),
        p50_latency_ms: percentile(&latencies, 50),
        p95_latency_ms: percentile(&latencies, 95),
        max_latency_ms: latencies.last().copied(),
        tokens_in: samples.iter().map(|s| s.usage.tokens_in).sum(),
        tokens_out: samples.iter().map(|s| s.usage.tokens_out).sum(),
        cost_usd: cost.as_ref().ok().copied(),
        cost_unavailable: cost.err(),
    }
}

fn scorer_aggregates(judge: &Judge<'_>) -> Vec<ScorerAggregate> {
    let mut sums = vec![(0usize, 0.0f64, 0usize); judge.scorers.names.len()];
    for sample in judge.samples {
        match &sample.scores {
            Some(scores) => {
                for s in scores {
                    let entry = &mut sums[s.slot];
                    entry.0 += 1;
                    entry.1 += s.score;
                    entry.2 += s.passed as usize;
                }
            }
            None => {
                for slot in judge.scorers.slots_for_case(sample.case) {
                    sums[slot].0 += 1;
                }
            }
        }
    }
    judge
        .scorers
        .names
        .iter()
        .zip(sums)
        .map(|(name, (n, sum, passed))| ScorerAggregate {
            name: name.clone(),
            samples: n,
            mean: ratio(sum, n).unwrap_or(0.0),
            pass_rate: ratio(passed as f64, n).unwrap_or(0.0),
        })
        .collect()
}

fn tag_aggregates(judge: &Judge<'_>) -> Vec<TagAggregate> {
    judge
        .golden
        .tags()
        .into_iter()
        .map(|tag| {
            let cases = judge
                .golden
                .cases
                .iter()
                .filter(|c| c.has_tag(&tag))
                .count();
            let (n, passed) = judge
                .in_slice(Some(&tag))
                .fold((0, 0), |(n, p), s| (n + 1, p + s.passed() as usize));
            TagAggregate {
                tag,
                cases,
                samples: n,
                pass_rate: ratio(passed as f64, n).unwrap_or(0.0),
            }
        })
        .collect()
}

fn failing_cases(
    golden: &GoldenSet,
    criteria: &Criteria,
    gates: &[GateResult],
    samples: &[Sample],
) -> Vec<FailingCase> {
    let failed_tags: Vec<&str> = gates
        .iter()
        .filter(|g| !g.passed)
        .filter_map(|g| g.tag.as_deref())
        .collect();
    let mut failing: Vec<FailingCase> = samples
        .iter()
        .filter(|s| !s.passed())
        .map(|s| {
            let case = &golden.cases[s.case];
            let (reasons, output) = match &s.failure {
                Some(f) => (f.reasons.clone(), f.output.clone()),
                None => (vec!["failed".into()], String::new()),
            };
            FailingCase {
                id: case.id.clone(),
                repeat: s.repeat,
                line: case.line,
                tags: case.tags.clone(),
                must_pass: criteria.must_pass.contains(&case.id),
                reasons,
                output,
            }
        })
        .collect();
    // Blocking cases first (must-pass, then those in a slice whose gate failed), then golden
    // order: a reader of the first ten lines sees why the gate failed.
    failing.sort_by_key(|f| {
        let in_failed_slice = f.tags.iter().any(|t| failed_tags.contains(&t.as_str()));
        (!f.must_pass, !in_failed_slice, f.line, f.repeat)
    });
    failing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria::{Gate, GoldenPin};
    use crate::golden::Case;
    use crate::score::{Scorer, ScorerSpec};

    /// Cases `(id, tags)`, in order.
    fn golden(cases: &[(&str, &[&str])]) -> GoldenSet {
        GoldenSet {
            path: "golden/g.jsonl".into(),
            hash: String::new(),
            cases: cases
                .iter()
                .enumerate()
                .map(|(i, (id, tags))| Case {
                    id: id.to_string(),
                    line: i + 1,
                    vars: Default::default(),
                    expected: None,
                    tags: tags.iter().map(|t| t.to_string()).collect(),
                    asserts: Vec::new(),
                    labels: Default::default(),
                })
                .collect(),
        }
    }

    /// `n` untagged cases `c00`, `c01`, ...
    fn plain(n: usize) -> GoldenSet {
        let ids: Vec<String> = (0..n).map(|i| format!("c{i:02}")).collect();
        let cases: Vec<(&str, &[&str])> = ids.iter().map(|id| (id.as_str(), &[][..])).collect();
        golden(&cases)
    }

    fn criteria(gates: Vec<Gate>, must_pass: &[&str]) -> Criteria {
        Criteria {
            path: "criteria/c.toml".into(),
            version: 1,
            description: None,
            hash: String::new(),
            golden: GoldenPin {
                path: "../golden/g.jsonl".into(),
                sha256: String::new(),
            },
            scorers: Vec::new(),
            gates,
            must_pass: must_pass.iter().map(|m| m.to_string()).collect(),
            compare: None,
            judge: Default::default(),
            cost: None,
        }
    }

    fn gate(metric: &str, tag: Option<&str>, min: Option<f64>, max: Option<f64>) -> Gate {
        Gate {
            metric: Metric::parse(metric).unwrap(),
            tag: tag.map(Into::into),
            min,
            max,
            confidence: None,
            line: 7,
        }
    }

    fn confident(mut gate: Gate, level: f64) -> Gate {
        gate.confidence = Some(level);
        gate
    }

    /// One criteria scorer, `check`, in slot 0.
    fn scorers(cases: usize) -> ScorerSet {
        let spec: ScorerSpec = toml::from_str("name = \"check\"\ntype = \"json_valid\"\n").unwrap();
        ScorerSet::new(vec![Scorer::compile(&spec).unwrap()], cases)
    }

    fn sample(case: usize, repeat: u32, passed: bool, latency_ms: u64) -> Sample {
        Sample {
            case,
            repeat,
            latency_ms,
            passed,
            scores: Some(vec![SlotScore {
                slot: 0,
                score: if passed { 1.0 } else { 0.0 },
                passed,
            }]),
            failure: (!passed).then(|| {
                Box::new(Failure {
                    reasons: vec!["check: not JSON".into()],
                    output: "nope".into(),
                })
            }),
            usage: Usage::default(),
        }
    }

    /// A failed call: no scores.
    fn errored(case: usize, repeat: u32) -> Sample {
        Sample {
            case,
            repeat,
            latency_ms: 5,
            passed: false,
            scores: None,
            failure: Some(Box::new(Failure {
                reasons: vec!["timeout".into()],
                output: String::new(),
            })),
            usage: Usage::default(),
        }
    }

    /// One sample per case and repeat; `passes(case, repeat)` decides each.
    fn samples(cases: usize, repeats: u32, passes: impl Fn(usize, u32) -> bool) -> Vec<Sample> {
        (0..cases)
            .flat_map(|c| (0..repeats).map(move |r| (c, r)))
            .map(|(c, r)| sample(c, r, passes(c, r), 10))
            .collect()
    }

    fn run(criteria: &Criteria, golden: &GoldenSet, repeats: u32, samples: &[Sample]) -> Judgement {
        judge(
            criteria,
            golden,
            &scorers(golden.cases.len()),
            repeats,
            samples,
        )
    }

    #[test]
    fn pass_rate_gate_holds_at_its_threshold_and_fails_just_above_it() {
        let set = plain(10);
        let nine = samples(10, 1, |c, _| c != 3);
        for (min, verdict) in [(0.9, Verdict::Pass), (0.91, Verdict::Fail)] {
            let j = run(
                &criteria(vec![gate("pass_rate", None, Some(min), None)], &[]),
                &set,
                1,
                &nine,
            );
            assert_eq!(j.verdict, verdict, "min {min}");
            assert_eq!(j.gates[0].value, Some(0.9));
            assert_eq!(j.gates[0].samples, 10);
            assert_eq!(j.gates[0].passed, verdict == Verdict::Pass);
            assert!(!j.gates[0].tested_on_interval);
        }
        // A `max` bound is inclusive too.
        for (max, verdict) in [(0.9, Verdict::Pass), (0.89, Verdict::Fail)] {
            let j = run(
                &criteria(vec![gate("pass_rate", None, None, Some(max))], &[]),
                &set,
                1,
                &nine,
            );
            assert_eq!(j.verdict, verdict, "max {max}");
        }
    }

    #[test]
    fn a_tag_gate_is_judged_on_its_tags_cases_only() {
        let set = golden(&[
            ("a1", &["alpha"]),
            ("a2", &["alpha", "both"]),
            ("b1", &["beta", "both"]),
            ("b2", &["beta"]),
            ("n1", &[]),
        ]);
        // Only the beta cases fail.
        let all = samples(5, 1, |c, _| c < 2 || c == 4);
        let gates = vec![
            gate("pass_rate", Some("alpha"), Some(1.0), None),
            gate("pass_rate", Some("beta"), Some(0.5), None),
            gate("pass_rate", Some("both"), Some(0.5), None),
            gate("pass_rate", None, Some(0.6), None),
        ];
        let j = run(&criteria(gates, &[]), &set, 1, &all);
        let by = |tag: Option<&str>| j.gates.iter().find(|g| g.tag.as_deref() == tag).unwrap();
        assert_eq!(
            (by(Some("alpha")).value, by(Some("alpha")).samples),
            (Some(1.0), 2)
        );
        assert!(by(Some("alpha")).passed);
        assert_eq!(
            (by(Some("beta")).value, by(Some("beta")).samples),
            (Some(0.0), 2)
        );
        assert!(!by(Some("beta")).passed);
        assert_eq!(by(Some("both")).value, Some(0.5));
        assert!(by(Some("both")).passed);
        assert_eq!(by(None).value, Some(0.6));
        assert!(by(None).passed);
        assert_eq!(j.verdict, Verdict::Fail, "the beta gate fails the run");
        // The failing cases of the failed slice are listed first.
        assert_eq!(j.failing_cases[0].id, "b1");
        let alpha = j.tags.iter().find(|t| t.tag == "alpha").unwrap();
        assert_eq!((alpha.cases, alpha.samples, alpha.pass_rate), (2, 2, 1.0));
    }

    #[test]
    fn a_failing_must_pass_case_fails_the_verdict_while_every_rate_holds() {
        let set = plain(10);
        let all = samples(10, 1, |c, _| c != 4);
        let rates = || vec![gate("pass_rate", None, Some(0.8), None)];
        let j = run(&criteria(rates(), &["c04"]), &set, 1, &all);
        assert!(j.gates[0].passed);
        assert_eq!(j.must_pass.len(), 1);
        assert!(!j.must_pass[0].passed);
        assert_eq!(j.must_pass[0].line, 5);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.failing_cases[0].must_pass);
        // The same run with a passing must-pass case passes.
        let j = run(&criteria(rates(), &["c05"]), &set, 1, &all);
        assert_eq!(j.verdict, Verdict::Pass);
    }

    #[test]
    fn a_missing_sample_fails_the_verdict_never_passes_it() {
        let set = plain(4);
        let gates = || vec![gate("pass_rate", None, Some(0.5), None)];
        let mut all = samples(4, 2, |_, _| true);
        assert_eq!(
            run(&criteria(gates(), &[]), &set, 2, &all).verdict,
            Verdict::Pass
        );
        // One repeat of one case never arrived: every gate holds, the verdict does not.
        all.retain(|s| !(s.case == 2 && s.repeat == 1));
        let j = run(&criteria(gates(), &[]), &set, 2, &all);
        assert!(j.gates[0].passed);
        assert_eq!(j.verdict, Verdict::Fail);
        // A must-pass case with no sample at all is a failure, not a vacuous pass.
        all.retain(|s| s.case != 3);
        let j = run(&criteria(Vec::new(), &["c03"]), &set, 2, &all);
        assert!(!j.must_pass[0].passed);
        assert_eq!(j.verdict, Verdict::Fail);
        // No samples at all.
        let j = run(&criteria(gates(), &[]), &set, 2, &[]);
        assert_eq!(j.gates[0].value, None);
        assert!(!j.gates[0].passed);
        assert_eq!(j.verdict, Verdict::Fail);
    }

    #[test]
    fn failed_calls_count_as_failing_for_every_bound() {
        let set = plain(4);
        let mut all = samples(3, 1, |_, _| true);
        all.push(errored(3, 0));
        let j = run(
            &criteria(
                vec![
                    gate("pass_rate", None, Some(0.8), None),
                    gate("pass_rate:check", None, Some(0.8), None),
                    gate("mean:check", None, Some(0.8), None),
                    // Against a `max`, a failed call counts as passing: it cannot help here
                    // either.
                    gate("pass_rate:check", None, None, Some(0.8)),
                ],
                &[],
            ),
            &set,
            1,
            &all,
        );
        assert_eq!(j.gates[0].value, Some(0.75));
        assert_eq!(j.gates[1].value, Some(0.75));
        assert_eq!(j.gates[2].value, Some(0.75));
        assert_eq!(j.gates[3].value, Some(1.0));
        assert!(j.gates.iter().all(|g| !g.passed), "{:#?}", j.gates);
        assert_eq!((j.summary.errors, j.summary.failed), (1, 1));
        assert_eq!(j.scorers[0].samples, 4);
        assert_eq!(j.verdict, Verdict::Fail);
        // A run in which every call failed cannot pass, even a gate nothing could fail.
        let none: Vec<Sample> = (0..4).map(|c| errored(c, 0)).collect();
        let j = run(
            &criteria(vec![gate("pass_rate", None, Some(0.0), None)], &[]),
            &set,
            1,
            &none,
        );
        assert!(j.gates[0].passed);
        assert_eq!(j.verdict, Verdict::Fail);
    }

    #[test]
    fn latency_gates_take_nearest_rank_percentiles_and_failed_calls_as_infinitely_slow() {
        let set = plain(20);
        // Latencies 10, 20, ..., 200 ms.
        let all: Vec<Sample> = (0..20)
            .map(|c| sample(c, 0, true, 10 * (c as u64 + 1)))
            .collect();
        let gates = vec![
            gate("p50_latency_ms", None, None, Some(100.0)),
            gate("p95_latency_ms", None, None, Some(190.0)),
            gate("p100_latency_ms", None, None, Some(199.0)),
        ];
        let j = run(&criteria(gates, &[]), &set, 1, &all);
        let values: Vec<Option<f64>> = j.gates.iter().map(|g| g.value).collect();
        assert_eq!(values, [Some(100.0), Some(190.0), Some(200.0)]);
        assert_eq!(
            j.gates.iter().map(|g| g.passed).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert!(j.gates.iter().all(|g| g.interval.is_none()));
        assert_eq!(
            (
                j.summary.p50_latency_ms,
                j.summary.p95_latency_ms,
                j.summary.max_latency_ms
            ),
            (Some(100), Some(190), Some(200))
        );
        assert_eq!(j.verdict, Verdict::Fail);
        // A timed-out call is slower than any limit: the max lands on it, nothing measured.
        let mut slow = all.clone();
        slow[0] = errored(0, 0);
        let j = run(
            &criteria(
                vec![
                    gate("p50_latency_ms", None, None, Some(1000.0)),
                    gate("p100_latency_ms", None, None, Some(1e12)),
                ],
                &[],
            ),
            &set,
            1,
            &slow,
        );
        assert_eq!(j.gates[0].value, Some(110.0), "the failed call sorts last");
        assert!(j.gates[0].passed);
        assert_eq!(j.gates[1].value, None);
        assert!(!j.gates[1].passed);
        // The summary reports successful calls only.
        assert_eq!(j.summary.max_latency_ms, Some(200));
    }

    #[test]
    fn confidence_gates_test_the_interval_ends_not_the_point_estimate() {
        let set = plain(20);
        let nineteen = samples(20, 1, |c, _| c != 0);
        let j = run(
            &criteria(
                vec![
                    gate("pass_rate", None, Some(0.9), None),
                    confident(gate("pass_rate", None, Some(0.9), None), 0.95),
                    confident(gate("pass_rate", None, Some(0.75), None), 0.95),
                ],
                &[],
            ),
            &set,
            1,
            &nineteen,
        );
        let [point, honest, loose] = &j.gates[..] else {
            panic!()
        };
        assert_eq!(point.value, Some(0.95));
        assert!(point.passed && !point.tested_on_interval);
        // statsmodels proportion_confint(19, 20, method="wilson").
        let ci = honest.interval.unwrap();
        assert!((ci.low - 0.763_868_806_553_257_7).abs() < 1e-12, "{ci:?}");
        assert!(!honest.passed && honest.tested_on_interval);
        assert!(loose.passed, "0.764 clears 0.75");
        assert_eq!(j.verdict, Verdict::Fail);
        // A `max` is tested on the upper end: 1 of 20 is 0.05 ≤ 0.1, but the CI reaches 0.236.
        let one = samples(20, 1, |c, _| c == 0);
        let j = run(
            &criteria(
                vec![
                    gate("pass_rate", None, None, Some(0.1)),
                    confident(gate("pass_rate", None, None, Some(0.1)), 0.95),
                ],
                &[],
            ),
            &set,
            1,
            &one,
        );
        assert!(j.gates[0].passed);
        assert!(!j.gates[1].passed);
        assert!(j.gates[1].interval.unwrap().high > 0.23);
        // The reported level follows the gate's; without one it is 95%.
        let j = run(
            &criteria(
                vec![confident(gate("pass_rate", None, Some(0.5), None), 0.8)],
                &[],
            ),
            &set,
            1,
            &nineteen,
        );
        assert_eq!(j.gates[0].confidence, 0.8);
        assert_eq!(point.confidence, DISPLAY_CONFIDENCE);
    }

    #[test]
    fn repeats_are_samples_for_rates_and_all_must_pass_for_must_pass() {
        let set = plain(3);
        // c00 passes 2 of 3 repeats; the others pass all.
        let all = samples(3, 3, |c, r| !(c == 0 && r == 1));
        let j = run(
            &criteria(vec![gate("pass_rate", None, Some(0.85), None)], &["c00"]),
            &set,
            3,
            &all,
        );
        let gate = &j.gates[0];
        assert_eq!((gate.value, gate.samples), (Some(8.0 / 9.0), 9));
        assert!(gate.passed);
        assert!(
            !j.must_pass[0].passed,
            "one failing repeat fails a must-pass case"
        );
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(
            (j.summary.samples, j.summary.passed, j.summary.pass_rate),
            (9, 8, 8.0 / 9.0)
        );
        let failing: Vec<(&str, u32)> = j
            .failing_cases
            .iter()
            .map(|f| (f.id.as_str(), f.repeat))
            .collect();
        assert_eq!(failing, [("c00", 1)]);
    }

    /// The issue: 20 identical deterministic cases, all passing. Repeating them adds no
    /// information, so `--repeat 5` gets the repeat-1 interval [0.839, 1] (not [0.963, 1])
    /// and a 0.9 confidence gate fails at both.
    #[test]
    fn identical_repeats_do_not_inflate_a_confidence_gate() {
        let set = plain(20);
        let gates = || {
            vec![
                confident(gate("pass_rate", None, Some(0.9), None), 0.95),
                confident(gate("pass_rate:check", None, Some(0.9), None), 0.95),
            ]
        };
        let at = |repeats: u32| {
            run(
                &criteria(gates(), &[]),
                &set,
                repeats,
                &samples(20, repeats, |_, _| true),
            )
        };
        let one = at(1);
        for repeats in [1, 2, 5, 10] {
            let j = at(repeats);
            assert_eq!(j.verdict, Verdict::Fail, "--repeat {repeats}");
            for (g, base) in j.gates.iter().zip(&one.gates) {
                assert_eq!(g.interval, base.interval, "--repeat {repeats}");
                assert_eq!(g.samples, 20 * repeats as usize);
                assert!(!g.passed);
            }
            let ci = j.gates[0].interval.unwrap();
            assert!(
                (0.8388..0.8389).contains(&ci.low) && ci.high == 1.0,
                "{ci:?}"
            );
        }
        // With one case failing on every repeat, the same holds: the repeat-1 interval.
        let failing = |repeats: u32| {
            run(
                &criteria(gates(), &[]),
                &set,
                repeats,
                &samples(20, repeats, |c, _| c != 7),
            )
        };
        assert_eq!(failing(5).gates[0].interval, failing(1).gates[0].interval);
    }

    /// Flaky cases whose repeats disagree carry more information than one run of them: the
    /// interval narrows, but never below Wilson on every sample as if independent.
    #[test]
    fn disagreeing_repeats_count_for_more_than_one_sample_per_case() {
        let set = plain(20);
        // Every case fails exactly one of its 5 repeats: no case is harder than another.
        let all = samples(20, 5, |c, r| r != (c % 5) as u32);
        let j = run(
            &criteria(
                vec![confident(gate("pass_rate", None, Some(0.6), None), 0.95)],
                &[],
            ),
            &set,
            5,
            &all,
        );
        let ci = j.gates[0].interval.unwrap();
        assert_eq!(ci, stats::wilson(80, 100, 0.95));
        assert!(j.gates[0].passed);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&v, 100), Some(100));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
    }

    fn priced(case: usize, cost: std::result::Result<f64, &str>) -> Sample {
        let mut s = sample(case, 0, true, 10);
        s.usage = Usage {
            tokens_in: 10,
            tokens_out: 5,
            cost: cost.map_err(|why| Some(why.into())),
        };
        s
    }

    #[test]
    fn cost_gate_sums_the_run_and_tests_max() {
        let samples = vec![priced(0, Ok(0.75)), priced(1, Ok(1.25))];
        let run = |max: f64| {
            judge(
                &criteria(vec![gate("cost_usd", None, None, Some(max))], &[]),
                &plain(2),
                &scorers(2),
                1,
                &samples,
            )
        };
        let at = run(2.0);
        assert_eq!(at.gates[0].value, Some(2.0));
        assert!(at.gates[0].passed);
        assert_eq!(at.summary.cost_usd, Some(2.0));
        assert_eq!((at.summary.tokens_in, at.summary.tokens_out), (20, 10));
        assert!(!run(1.99).gates[0].passed);
    }

    #[test]
    fn cost_gate_fails_closed_on_an_unpriced_call() {
        let samples = vec![
            priced(0, Ok(0.1)),
            priced(1, Err("model \"x\" has no price in the price file")),
        ];
        let j = judge(
            &criteria(vec![gate("cost_usd", None, None, Some(100.0))], &[]),
            &plain(2),
            &scorers(2),
            1,
            &samples,
        );
        assert_eq!(j.gates[0].value, None);
        assert!(!j.gates[0].passed);
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.summary.cost_usd, None);
        assert!(j.summary.cost_unavailable.unwrap().contains("no price"));
    }
}

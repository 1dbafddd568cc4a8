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
    /// The value's confidence interval (rates: Wilson; means: case-clustered normal);
    /// none for latency percentiles.
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

    /// The metric's value on a slice, and how many samples it was measured on.
    /// The metric's value on a slice, its confidence interval where one applies (Wilson
    /// for rates, a case-clustered normal interval for means), and the sample count.
    fn measure(
        &self,
        metric: &Metric,
        tag: Option<&str>,
        confidence: f64,
        worst: Worst,
    ) -> (Option<f64>, Option<Interval>, usize) {
        match metric {
            Metric::PassRate => {
                let (n, passed) = self.in_slice(tag).fold((0, 0), |(n, p), s| {
                    let passed = s.passed() || (s.errored() && worst == Worst::High);
                    (n + 1, p + passed as usize)
                });
                let interval = (n > 0).then(|| stats::wilson(passed as u64, n as u64, confidence));
                (ratio(passed as f64, n), interval, n)
            }
            Metric::ScorerPassRate(name) | Metric::ScorerMean(name) => {
                let slot = self
                    .scorers
                    .slot(name)
                    .expect("gate scorers are checked in the plan");
                let mut values = Vec::new();
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
                        cases.push(sample.case);
                    }
                }
                let n = values.len();
                let sum: f64 = values.iter().sum();
                let interval = (n > 0).then(|| match metric {
                    Metric::ScorerPassRate(_) => stats::wilson(sum as u64, n as u64, confidence),
                    _ => {
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
                    }
                });
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
        }
    }
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
    }
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
    Summary {
        samples: samples.len(),
        passed,
        failed: samples.len() - passed,
        errors,
        pass_rate: ratio(passed as f64, samples.len()).unwrap_or(0.0),
        p50_latency_ms: percentile(&latencies, 50),
        p95_latency_ms: percentile(&latencies, 95),
        max_latency_ms: latencies.last().copied(),
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
    use super::percentile;

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
}

//! Candidate versus baseline on the same golden set and criteria: which cases flipped, how
//! far scores moved, and whether the difference is real or noise. Every statistic is
//! paired: the two sides answered the same cases.

use std::collections::HashMap;

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::criteria::{ComparePolicy, Metric};
use crate::gate::{Sample, Verdict};
use crate::golden::GoldenSet;
use crate::rundir::Report;
use crate::score::ScorerSet;
use crate::stats::{self, Interval};

/// Bumped on any incompatible change to the comparison JSON.
pub const SCHEMA_VERSION: u32 = 1;
pub const DEFAULT_SEED: u64 = 0x5eed;
pub const DEFAULT_RESAMPLES: u32 = 10_000;
const CONFIDENCE: f64 = 0.95;
const POWER: f64 = 0.8;
const LARGEST_DROPS: usize = 10;

/// One side as the comparison reads it: its own report and its samples.
pub struct Side {
    pub run_dir: String,
    pub report: Report,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    pub run_id: String,
    pub run_dir: String,
    pub prompt_id: String,
    pub prompt_version: String,
    pub prompt_path: String,
    pub pass_rate: f64,
    /// The side's own gates.
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassRateComparison {
    pub baseline: f64,
    pub candidate: f64,
    pub delta: f64,
    /// 95% CI of the delta: Newcombe's paired hybrid score interval; with repeats, the same
    /// on the effective sample size (counts divided by the Kish design effect, so identical
    /// repeats give the repeat-1 interval; see `method`).
    pub ci: Interval,
    pub both_pass: u64,
    pub regressions: u64,
    pub improvements: u64,
    pub both_fail: u64,
    /// McNemar's exact two-sided p (with repeats: the clustered z-test's p).
    pub p_value: f64,
    pub mid_p_value: Option<f64>,
    pub method: String,
    /// The smallest pass-rate drop this golden set detects at alpha with 80% power.
    pub min_detectable_drop: f64,
    /// Distinct cases behind the pairs (pairs / repeats).
    pub cases: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScorerComparison {
    pub name: String,
    pub pairs: usize,
    pub baseline_mean: f64,
    pub candidate_mean: f64,
    pub mean_delta: f64,
    /// Paired bootstrap percentile CI of the mean delta (with repeats: clustered normal CI).
    pub ci: Interval,
    /// Bootstrap resamples actually drawn: fewer than requested on very large sets, where
    /// `stats::adaptive_resamples` bounds the work (none with repeats).
    pub resamples: u32,
    /// Two-sided p of "no difference": Wilcoxon signed-rank on the paired deltas, or with
    /// repeats the z-test on case-clustered standard errors (see `test`).
    pub p_value: f64,
    pub test: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagComparison {
    pub tag: String,
    pub pairs: usize,
    pub baseline_pass_rate: f64,
    pub candidate_pass_rate: f64,
    pub delta: f64,
    /// 95% CI of the delta, as for the whole set, case-clustered with repeats (per tag, not
    /// adjusted for the number of tags: the Holm p is what accounts for that).
    pub ci: Interval,
    pub regressions: u64,
    pub improvements: u64,
    pub p_value: f64,
    /// Holm–Bonferroni across all tags, so many slices are not many chances of a false alarm.
    pub p_holm: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    pub id: String,
    pub repeat: u32,
    pub line: usize,
    pub tags: Vec<String>,
    pub must_pass: bool,
    /// Why the failing side failed.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreDrop {
    pub id: String,
    pub repeat: u32,
    pub scorer: String,
    pub baseline: f64,
    pub candidate: f64,
    pub delta: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    pub metric: String,
    pub alpha: f64,
    pub max_drop: Option<f64>,
    /// The delta and CI the policy judged.
    pub delta: f64,
    pub ci: Interval,
    pub p_value: f64,
    pub significantly_worse: bool,
    /// Set when `max_drop` cannot be shown on a set this small, whatever the candidate does.
    pub too_small: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub verdict: Verdict,
    /// Every reason the candidate failed, in plain words; empty when it passed.
    pub reasons: Vec<String>,
    pub baseline: SideSummary,
    pub candidate: SideSummary,
    pub golden: crate::rundir::GoldenRef,
    pub criteria: crate::rundir::CriteriaRef,
    pub repeats: u32,
    pub pass_rate: PassRateComparison,
    pub policy: PolicyResult,
    pub scorers: Vec<ScorerComparison>,
    pub tags: Vec<TagComparison>,
    pub regressions: Vec<Flip>,
    pub improvements: Vec<Flip>,
    pub largest_drops: Vec<ScoreDrop>,
    pub bootstrap_seed: u64,
    pub bootstrap_resamples: u32,
}

/// A (case, repeat) with both sides' samples.
struct Pair<'a> {
    base: &'a Sample,
    cand: &'a Sample,
}

fn score_of(sample: &Sample, slot: usize, applies: bool) -> Option<f64> {
    match &sample.scores {
        Some(scores) => scores.iter().find(|s| s.slot == slot).map(|s| s.score),
        None if applies => Some(0.0),
        None => None,
    }
}

fn summary(side: &Side) -> SideSummary {
    let id = &side.report.identity;
    SideSummary {
        run_id: side.report.run_id.clone(),
        run_dir: side.run_dir.clone(),
        prompt_id: id.prompt.id.clone(),
        prompt_version: id.prompt.version.clone(),
        prompt_path: id.prompt.path.clone(),
        pass_rate: side.report.judgement.summary.pass_rate,
        verdict: side.report.judgement.verdict,
    }
}

/// Pass-rate delta over pairs: exact McNemar and Newcombe with one repeat. With more, the
/// repeats of one case are not independent samples: the p-value is a z-test on the
/// case-clustered standard error, and the CI is Newcombe's on the effective table (the counts
/// divided by the Kish design effect of the deltas, `stats::clustered_paired_diff`), so
/// identical repeats give exactly the repeat-1 interval and a slice with no variation is
/// judged on its number of cases instead of collapsing to `[0, 0]`. The same function judges
/// the whole set and every tag.
fn pass_rates(pairs: &[Pair<'_>], repeats: u32, alpha: f64) -> PassRateComparison {
    pass_rates_by(pairs, repeats, alpha, Sample::passed)
}

/// The paired pass-rate comparison with `passed` deciding what passing means (the whole
/// sample, or one scorer's verdict).
fn pass_rates_by(
    pairs: &[Pair<'_>],
    repeats: u32,
    alpha: f64,
    passed: impl Fn(&Sample) -> bool,
) -> PassRateComparison {
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for pair in pairs {
        match (passed(pair.base), passed(pair.cand)) {
            (true, true) => a += 1,
            (true, false) => b += 1,
            (false, true) => c += 1,
            (false, false) => d += 1,
        }
    }
    let n = pairs.len().max(1) as f64;
    let baseline = (a + b) as f64 / n;
    let candidate = (a + c) as f64 / n;
    let delta = candidate - baseline;
    let discordant_rate = (b + c) as f64 / n;
    // Power comes from independent cases, not from repeats of the same case.
    let cases = pairs
        .iter()
        .map(|p| p.base.case)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    let min_detectable_drop = stats::min_detectable_drop(cases, discordant_rate, alpha, POWER);
    if repeats <= 1 {
        let test = stats::mcnemar_exact(b, c);
        PassRateComparison {
            baseline,
            candidate,
            delta,
            ci: stats::newcombe_paired_diff(a, b, c, d, CONFIDENCE),
            both_pass: a,
            regressions: b,
            improvements: c,
            both_fail: d,
            p_value: test.p_value,
            mid_p_value: Some(test.mid_p_value),
            method: "McNemar exact (two-sided); Newcombe paired CI".into(),
            min_detectable_drop,
            cases,
        }
    } else {
        let deltas: Vec<f64> = pairs
            .iter()
            .map(|p| passed(p.cand) as u8 as f64 - passed(p.base) as u8 as f64)
            .collect();
        let clusters: Vec<usize> = pairs.iter().map(|p| p.base.case).collect();
        let (_, p_value) = clustered(&deltas, &clusters);
        let outcomes: Vec<(bool, bool)> = pairs
            .iter()
            .map(|p| (passed(p.base), passed(p.cand)))
            .collect();
        let (ci, effective) = stats::clustered_paired_diff(&outcomes, &clusters, CONFIDENCE);
        PassRateComparison {
            baseline,
            candidate,
            delta,
            ci,
            both_pass: a,
            regressions: b,
            improvements: c,
            both_fail: d,
            p_value,
            mid_p_value: None,
            method: format!(
                "z-test on case-clustered standard errors; Newcombe CI on {:.1} effective pairs of {} \
                 (Kish design effect {:.2}, {repeats} repeats per case)",
                effective.n_eff, effective.samples, effective.design_effect
            ),
            min_detectable_drop,
            cases,
        }
    }
}

/// Mean with a normal CI and two-sided p from the case-clustered standard error.
///
/// A zero clustered SE means every case has the same mean; the z-test is then undefined
/// (it used to answer p = 0 for any non-zero mean, so a single case regressing on all its
/// repeats was "significant"). Instead p is the exact sign test on the case means: 1 when
/// they are zero, else `2·0.5^cases` (what McNemar and Wilcoxon give at one repeat when every
/// case moved the same way).
fn clustered(values: &[f64], clusters: &[usize]) -> (Interval, f64) {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let se = stats::clustered_mean_se(values, clusters);
    if se <= 0.0 || !se.is_finite() {
        let cases = clusters
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len() as u64;
        let p = if mean == 0.0 {
            1.0
        } else {
            stats::mcnemar_exact(cases, 0).p_value
        };
        return (
            Interval {
                low: mean,
                high: mean,
            },
            p,
        );
    }
    let normal = Normal::standard();
    let z = normal.inverse_cdf(0.5 + CONFIDENCE / 2.0);
    let p = 2.0 * (1.0 - normal.cdf((mean / se).abs()));
    (
        Interval {
            low: mean - z * se,
            high: mean + z * se,
        },
        p.clamp(0.0, 1.0),
    )
}

fn flip(golden: &GoldenSet, must_pass: &[String], failing: &Sample) -> Flip {
    let case = &golden.cases[failing.case];
    Flip {
        id: case.id.clone(),
        repeat: failing.repeat,
        line: case.line,
        tags: case.tags.clone(),
        must_pass: must_pass.contains(&case.id),
        reasons: failing
            .failure
            .as_ref()
            .map(|f| f.reasons.clone())
            .unwrap_or_default(),
    }
}

pub struct Inputs<'a> {
    pub golden: &'a GoldenSet,
    pub scorers: &'a ScorerSet,
    pub must_pass: &'a [String],
    pub policy: ComparePolicy,
    pub repeats: u32,
    pub seed: u64,
    pub resamples: u32,
}

/// Compares two complete runs of the same golden set under the same criteria.
pub fn compare(inputs: &Inputs<'_>, baseline: &Side, candidate: &Side) -> Comparison {
    let golden = inputs.golden;
    let alpha = inputs.policy.alpha;
    let index: HashMap<(usize, u32), &Sample> = candidate
        .samples
        .iter()
        .map(|s| ((s.case, s.repeat), s))
        .collect();
    let pairs: Vec<Pair<'_>> = baseline
        .samples
        .iter()
        .filter_map(|base| {
            index
                .get(&(base.case, base.repeat))
                .map(|cand| Pair { base, cand })
        })
        .collect();

    let pass_rate = pass_rates(&pairs, inputs.repeats, alpha);

    let mut scorers = Vec::new();
    let mut drops = Vec::new();
    for (slot, name) in inputs.scorers.names.iter().enumerate() {
        let mut deltas = Vec::new();
        let mut clusters = Vec::new();
        let (mut base_sum, mut cand_sum) = (0.0, 0.0);
        for pair in &pairs {
            let applies = inputs
                .scorers
                .slots_for_case(pair.base.case)
                .any(|s| s == slot);
            if let (Some(b), Some(c)) = (
                score_of(pair.base, slot, applies),
                score_of(pair.cand, slot, applies),
            ) {
                base_sum += b;
                cand_sum += c;
                deltas.push(c - b);
                clusters.push(pair.base.case);
                if c < b {
                    drops.push(ScoreDrop {
                        id: golden.cases[pair.base.case].id.clone(),
                        repeat: pair.base.repeat,
                        scorer: name.clone(),
                        baseline: b,
                        candidate: c,
                        delta: c - b,
                    });
                }
            }
        }
        if deltas.is_empty() {
            continue;
        }
        let n = deltas.len() as f64;
        let (ci, mean_delta, resamples, p_value, test) = if inputs.repeats <= 1 {
            let resamples =
                stats::adaptive_resamples(deltas.len(), inputs.resamples, stats::DEFAULT_MAX_DRAWS);
            let boot = stats::paired_bootstrap_mean(&deltas, resamples, inputs.seed, CONFIDENCE);
            let wilcoxon = stats::wilcoxon_signed_rank(&deltas).p_value;
            (
                boot.interval,
                boot.mean,
                boot.resamples,
                wilcoxon,
                "Wilcoxon signed-rank",
            )
        } else {
            // The repeats of a case are not independent samples: no rank test over them.
            let (ci, p) = clustered(&deltas, &clusters);
            (
                ci,
                deltas.iter().sum::<f64>() / n,
                0,
                p,
                "z-test on case-clustered SEs",
            )
        };
        scorers.push(ScorerComparison {
            name: name.clone(),
            pairs: deltas.len(),
            baseline_mean: base_sum / n,
            candidate_mean: cand_sum / n,
            mean_delta,
            ci,
            resamples,
            p_value,
            test: test.to_string(),
        });
    }
    drops.sort_by(|x, y| x.delta.total_cmp(&y.delta).then(x.id.cmp(&y.id)));
    drops.truncate(LARGEST_DROPS);

    let mut tags = Vec::new();
    for tag in golden.tags() {
        let slice: Vec<Pair<'_>> = pairs
            .iter()
            .filter(|p| golden.cases[p.base.case].has_tag(&tag))
            .map(|p| Pair {
                base: p.base,
                cand: p.cand,
            })
            .collect();
        let rates = pass_rates(&slice, inputs.repeats, alpha);
        tags.push(TagComparison {
            tag,
            pairs: slice.len(),
            baseline_pass_rate: rates.baseline,
            candidate_pass_rate: rates.candidate,
            delta: rates.delta,
            ci: rates.ci,
            regressions: rates.regressions,
            improvements: rates.improvements,
            p_value: rates.p_value,
            p_holm: rates.p_value,
        });
    }
    let adjusted = stats::holm(&tags.iter().map(|t| t.p_value).collect::<Vec<_>>());
    for (tag, p) in tags.iter_mut().zip(adjusted) {
        tag.p_holm = p;
    }

    let mut regressions: Vec<Flip> = pairs
        .iter()
        .filter(|p| p.base.passed() && !p.cand.passed())
        .map(|p| flip(golden, inputs.must_pass, p.cand))
        .collect();
    // Must-pass regressions first: they block on their own.
    regressions.sort_by_key(|f| (!f.must_pass, f.line, f.repeat));
    let improvements: Vec<Flip> = pairs
        .iter()
        .filter(|p| !p.base.passed() && p.cand.passed())
        .map(|p| flip(golden, inputs.must_pass, p.base))
        .collect();

    // `pass_rate:<scorer>` is judged like the overall pass rate (McNemar, Newcombe), on
    // that scorer's pass/fail over the cases it applies to; a failed call fails it.
    let scorer_rate = match &inputs.policy.metric {
        Metric::ScorerPassRate(name) => inputs.scorers.slot(name).map(|slot| {
            let applies: Vec<Pair<'_>> = pairs
                .iter()
                .filter(|p| {
                    inputs
                        .scorers
                        .slots_for_case(p.base.case)
                        .any(|s| s == slot)
                })
                .map(|p| Pair {
                    base: p.base,
                    cand: p.cand,
                })
                .collect();
            pass_rates_by(&applies, inputs.repeats, alpha, |sample| {
                sample
                    .scores
                    .as_ref()
                    .and_then(|scores| scores.iter().find(|s| s.slot == slot))
                    .is_some_and(|s| s.passed)
            })
        }),
        _ => None,
    };
    let policy = judge_policy(
        &inputs.policy,
        scorer_rate.as_ref().unwrap_or(&pass_rate),
        &scorers,
    );
    let mut reasons = Vec::new();
    if candidate.report.judgement.verdict != Verdict::Pass {
        let failed: Vec<String> = candidate
            .report
            .judgement
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(crate::report::terminal::gate_label)
            .chain(
                candidate
                    .report
                    .judgement
                    .must_pass
                    .iter()
                    .filter(|m| !m.passed)
                    .map(|m| format!("must_pass {}", m.id)),
            )
            .collect();
        reasons.push(format!(
            "the candidate fails its own gates: {}",
            failed.join(", ")
        ));
    }
    if policy.significantly_worse {
        reasons.push(format!(
            "the candidate is significantly worse on {}: delta {:+.3}, p = {} < alpha {}",
            policy.metric,
            policy.delta,
            format_p(policy.p_value),
            policy.alpha
        ));
    }
    if let Some(max_drop) = policy.max_drop
        && (policy.ci.low < -max_drop || policy.too_small.is_some())
    {
        reasons.push(match &policy.too_small {
            Some(why) => why.clone(),
            None => format!(
                "non-inferiority not shown: the {:.0}% CI of the {} delta reaches {:+.3}, below -max_drop = {:+.3}",
                CONFIDENCE * 100.0,
                policy.metric,
                policy.ci.low,
                -max_drop
            ),
        });
    }
    // Once per case, however many of its repeats regressed.
    let mut must_regressed: Vec<&str> = regressions
        .iter()
        .filter(|f| f.must_pass)
        .map(|f| f.id.as_str())
        .collect();
    must_regressed.dedup();
    if !must_regressed.is_empty() {
        reasons.push(format!(
            "must-pass case{} regressed: {}",
            if must_regressed.len() == 1 { "" } else { "s" },
            must_regressed.join(", ")
        ));
    }

    let identity = &candidate.report.identity;
    Comparison {
        schema_version: SCHEMA_VERSION,
        verdict: if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        reasons,
        baseline: summary(baseline),
        candidate: summary(candidate),
        golden: identity.golden.clone(),
        criteria: identity.criteria.clone(),
        repeats: inputs.repeats,
        pass_rate,
        policy,
        scorers,
        tags,
        regressions,
        improvements,
        largest_drops: drops,
        bootstrap_seed: inputs.seed,
        bootstrap_resamples: inputs.resamples,
    }
}

fn judge_policy(
    policy: &ComparePolicy,
    pass_rate: &PassRateComparison,
    scorers: &[ScorerComparison],
) -> PolicyResult {
    let metric = &policy.metric;
    let (delta, ci, p_value) = match metric {
        Metric::ScorerMean(name) => match scorers.iter().find(|s| &s.name == name) {
            Some(s) => (s.mean_delta, s.ci, s.p_value),
            None => (
                0.0,
                Interval {
                    low: 0.0,
                    high: 0.0,
                },
                1.0,
            ),
        },
        _ => (pass_rate.delta, pass_rate.ci, pass_rate.p_value),
    };
    let worse = match &metric {
        Metric::PassRate | Metric::ScorerPassRate(_) => {
            pass_rate.regressions > pass_rate.improvements
        }
        _ => delta < 0.0,
    };
    let repeats = (pass_rate.both_pass
        + pass_rate.regressions
        + pass_rate.improvements
        + pass_rate.both_fail)
        .max(1)
        / pass_rate.cases.max(1);
    let cases = pass_rate.cases;
    // Per case (repeats add no independent evidence), the narrowest interval this set
    // allows; for a mean, as for an all-passing baseline.
    let baseline_passes = match &metric {
        Metric::PassRate | Metric::ScorerPassRate(_) => {
            (pass_rate.both_pass + pass_rate.regressions) / repeats.max(1)
        }
        _ => cases,
    };
    let too_small = policy.max_drop.and_then(|max_drop| {
        let best = stats::zero_flip_lower_bound(cases, baseline_passes.min(cases), CONFIDENCE);
        (best < -max_drop).then(|| {
            format!(
                "the golden set is too small to show non-inferiority at max_drop = {max_drop}: \
                 with {cases} cases, even zero flips leave a {:.0}% CI reaching {best:+.3}; add cases",
                CONFIDENCE * 100.0,
            )
        })
    });
    PolicyResult {
        metric: metric.to_string(),
        alpha: policy.alpha,
        max_drop: policy.max_drop,
        delta,
        ci,
        p_value,
        significantly_worse: worse && p_value < policy.alpha,
        too_small,
    }
}

/// p-values as people read them: four significant digits, small ones in scientific form.
pub fn format_p(p: f64) -> String {
    if p < 1e-300 {
        "< 1e-300".to_string()
    } else if p >= 0.001 {
        format!("{p:.4}")
    } else {
        format!("{p:.2e}")
    }
}

//! A comparison as one self-contained HTML page: verdict banner with its reasons, what was
//! compared, the pass-rate comparison and the policy, a forest plot of every delta with its
//! confidence interval against zero, the scorer and tag tables, the flipped cases and the
//! largest score drops. The same content as the terminal and Markdown renderings in
//! `compare.rs`, laid out like the run report (`html.rs`).
//!
//! Rendered by minijinja from `templates/compare.html.j2` with HTML auto-escaping forced on
//! for every value and strict undefined: nothing is marked safe, so ids, tags, paths, scorer
//! names and reasons always render as text. The forest plot is built here from numbers only
//! (coordinates); its labels are text passed to the template like any other. No script,
//! font, stylesheet or image is loaded, and a Content-Security-Policy forbids them anyway.

use serde::Serialize;

use super::format::{percent, plural, truncate};
use super::html::{px, text};
use crate::compare::{Comparison, Flip, format_p};
use crate::criteria::Metric;
use crate::gate::Verdict;
use crate::stats::Interval;

const TEMPLATE_NAME: &str = "compare.html.j2";
const TEMPLATE: &str = include_str!("templates/compare.html.j2");

/// A reason is shown up to this many bytes (all of it is in the JSON report).
const REASON_BYTES: usize = 2048;
/// At most this many regressions, and as many improvements, are listed.
const MAX_FLIPS_SHOWN: usize = 200;
/// At most this many tags are drawn in the forest plot (all are in the tags table).
const MAX_TAGS_DRAWN: usize = 60;
/// The plot's axis never reaches beyond this, whatever a delta is.
const AXIS_LIMIT: f64 = 1e6;
/// Labels in the plot are cut to this many characters (the full label is the tooltip).
const LABEL_CHARS: usize = 28;

/// A long text cut to `max` bytes, saying so.
fn clipped(s: &str, max: usize) -> String {
    let (shown, cut) = truncate(s, max);
    let mut out = text(shown);
    if cut {
        out.push_str(&format!(
            " … [trimmed: {} of {} bytes shown; the whole text is in the JSON report]",
            shown.len(),
            s.len()
        ));
    }
    out
}

/// The first 12 characters of a version hash, like `digest::short`, but safe on any text.
fn short_version(version: &str) -> String {
    let hex = version.strip_prefix("sha256:").unwrap_or(version);
    text(&hex.chars().take(12).collect::<String>())
}

fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

fn rate(v: f64) -> String {
    format!("{v:.3}")
}

fn interval(ci: &Interval) -> String {
    format!("[{:+.3}, {:+.3}]", ci.low, ci.high)
}

#[derive(Serialize)]
struct Page {
    verdict: &'static str,
    verdict_word: &'static str,
    headline: String,
    reasons: Vec<String>,
    title: String,
    sides: Vec<SideRow>,
    golden: GoldenRow,
    criteria: CriteriaRow,
    pass_rate: PassRateView,
    policy: PolicyView,
    forest: Option<Forest>,
    scorers: Vec<ScorerRow>,
    bootstrap_note: String,
    tags: Vec<TagRow>,
    regressions: FlipTable,
    improvements: FlipTable,
    drops: Vec<DropRow>,
    tool_version: &'static str,
    schema_version: u32,
    baseline_run: String,
    candidate_run: String,
}

#[derive(Serialize)]
struct SideRow {
    label: &'static str,
    prompt_id: String,
    short_version: String,
    version: String,
    path: String,
    run_id: String,
    run_dir: String,
    passed: bool,
    pass_rate: String,
}

#[derive(Serialize)]
struct GoldenRow {
    path: String,
    hash: String,
    note: String,
}

#[derive(Serialize)]
struct CriteriaRow {
    path: String,
    version: u64,
    hash: String,
}

#[derive(Serialize)]
struct PassRateView {
    baseline: String,
    candidate: String,
    delta: String,
    ci: String,
    both_pass: u64,
    regressions: u64,
    improvements: u64,
    both_fail: u64,
    pairs: String,
    cases: String,
    p: String,
    mid_p: Option<String>,
    method: String,
    min_detectable_drop: String,
    power_note: String,
}

#[derive(Serialize)]
struct PolicyView {
    metric: String,
    alpha: String,
    delta: String,
    ci: String,
    p: String,
    significantly_worse: bool,
    /// None without a `max_drop`; else whether the CI's low end stays above `-max_drop`.
    non_inferiority: Option<bool>,
    margin: String,
    too_small: Option<String>,
}

/// Every delta against zero, on one axis.
#[derive(Serialize)]
struct Forest {
    width: f64,
    height: f64,
    label_x: f64,
    x0: f64,
    x1: f64,
    zero_x: f64,
    value_x: f64,
    top: f64,
    bottom: f64,
    tick_y: f64,
    ticks: Vec<Tick>,
    rows: Vec<ForestRow>,
    alpha: String,
    has_margin: bool,
    hidden: usize,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
}

#[derive(Serialize)]
struct ForestRow {
    y: f64,
    text_y: f64,
    label: String,
    title: String,
    value: String,
    /// `worse`, `better` or `neutral`.
    class: &'static str,
    /// The delta's x; none when it is not a finite number.
    point: Option<f64>,
    ci: Option<Span>,
    /// Drawn hollow: a point estimate without an interval.
    open: bool,
    /// x of `-max_drop`, on the policy's row.
    margin: Option<f64>,
}

#[derive(Serialize)]
struct Span {
    low: f64,
    high: f64,
}

#[derive(Serialize)]
struct ScorerRow {
    name: String,
    pairs: usize,
    baseline_mean: String,
    candidate_mean: String,
    delta: String,
    ci: String,
    p: String,
    test: String,
    resamples: String,
}

#[derive(Serialize)]
struct TagRow {
    tag: String,
    pairs: usize,
    baseline: String,
    candidate: String,
    delta: String,
    ci: String,
    regressions: u64,
    improvements: u64,
    p: String,
    p_holm: String,
    significant: bool,
}

#[derive(Serialize)]
struct FlipTable {
    title: &'static str,
    reasons_heading: &'static str,
    must_first: bool,
    total: usize,
    hidden: usize,
    rows: Vec<FlipRow>,
}

#[derive(Serialize)]
struct FlipRow {
    id: String,
    repeat: Option<u32>,
    must_pass: bool,
    location: String,
    tags: Vec<String>,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct DropRow {
    id: String,
    repeat: Option<u32>,
    scorer: String,
    baseline: String,
    candidate: String,
    delta: String,
}

/// What one forest row shows, before it is placed on the axis.
struct Estimate {
    label: String,
    delta: f64,
    ci: Option<Interval>,
    p: f64,
    p_label: &'static str,
    margin: Option<f64>,
}

/// 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn tick_label(value: f64, step: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let decimals = (-step.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{value:+.decimals$}")
}

fn forest(c: &Comparison) -> Option<Forest> {
    let alpha = c.policy.alpha;
    // The policy judges a scorer's delta for scorer metrics, else the pass rate's: its
    // margin is drawn on that row only.
    let policy_metric = Metric::parse(&c.policy.metric).ok();
    let policy_scorer = policy_metric.as_ref().and_then(|m| m.scorer());
    let margin = c
        .policy
        .max_drop
        .filter(|m| m.is_finite())
        .map(|m| -m.abs());
    let mut estimates = vec![Estimate {
        label: "pass rate".into(),
        delta: c.pass_rate.delta,
        ci: Some(c.pass_rate.ci),
        p: c.pass_rate.p_value,
        p_label: "p",
        margin: margin.filter(|_| policy_scorer.is_none()),
    }];
    for s in &c.scorers {
        estimates.push(Estimate {
            label: format!("mean:{}", s.name),
            delta: s.mean_delta,
            ci: Some(s.ci),
            p: s.p_value,
            p_label: "p",
            margin: margin.filter(|_| policy_scorer == Some(s.name.as_str())),
        });
    }
    for t in c.tags.iter().take(MAX_TAGS_DRAWN) {
        estimates.push(Estimate {
            label: format!("tag {}", t.tag),
            delta: t.delta,
            ci: Some(t.ci),
            p: t.p_holm,
            p_label: "Holm p",
            margin: None,
        });
    }

    // The axis covers zero, every finite delta and interval end, and the margin.
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    let ends = estimates.iter().flat_map(|e| {
        [
            Some(e.delta),
            e.ci.map(|ci| ci.low),
            e.ci.map(|ci| ci.high),
            e.margin,
        ]
        .into_iter()
        .flatten()
    });
    for v in ends.filter(|v| v.is_finite()) {
        // Rates and mean scores move within [-1, 1]; a wild value is clamped to the edge.
        let v = v.clamp(-AXIS_LIMIT, AXIS_LIMIT);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let span = (hi - lo).max(0.02);
    let step = nice_step(span / 6.0);
    let (n_lo, n_hi) = (
        ((lo - span * 0.04) / step).floor(),
        ((hi + span * 0.04) / step).ceil(),
    );
    let (lo, hi) = (n_lo * step, n_hi * step);

    let (width, label_x, x0, x1, value_x, row, top) =
        (820.0, 200.0, 215.0, 575.0, 590.0, 24.0, 8.0);
    let x = |v: f64| px(x0 + (v.clamp(lo, hi) - lo) / (hi - lo) * (x1 - x0));
    let bottom = px(top + estimates.len() as f64 * row + 4.0);
    let ticks = (n_lo as i64..=n_hi as i64)
        .map(|i| {
            let v = i as f64 * step;
            Tick {
                x: x(v),
                label: tick_label(v, step),
            }
        })
        .collect();
    let has_margin = estimates.iter().any(|e| e.margin.is_some());
    let rows = estimates
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let y = px(top + row / 2.0 + 2.0 + i as f64 * row);
            let significant = e.p < alpha;
            let class = if significant && e.delta < 0.0 {
                "worse"
            } else if significant && e.delta > 0.0 {
                "better"
            } else {
                "neutral"
            };
            let full = text(&e.label);
            let mut label: String = full.chars().take(LABEL_CHARS).collect();
            if label.len() < full.len() {
                label.push('…');
            }
            let ci =
                e.ci.filter(|ci| ci.low.is_finite() && ci.high.is_finite() && ci.low <= ci.high);
            let value = match &ci {
                Some(ci) => format!("{} {}", signed(e.delta), interval(ci)),
                None => signed(e.delta),
            };
            ForestRow {
                y,
                text_y: px(y + 4.0),
                title: format!("{full}: {value}, {} = {}", e.p_label, format_p(e.p)),
                label,
                value,
                class,
                point: e.delta.is_finite().then(|| x(e.delta)),
                open: ci.is_none(),
                ci: ci.map(|ci| Span {
                    low: x(ci.low),
                    high: x(ci.high),
                }),
                margin: e.margin.map(x),
            }
        })
        .collect();
    Some(Forest {
        width,
        height: px(bottom + 22.0),
        label_x,
        x0,
        x1,
        zero_x: x(0.0),
        value_x,
        top,
        bottom,
        tick_y: px(bottom + 16.0),
        ticks,
        rows,
        alpha: alpha.to_string(),
        has_margin,
        hidden: c.tags.len().saturating_sub(MAX_TAGS_DRAWN),
    })
}

fn flip_table(
    c: &Comparison,
    list: &[Flip],
    title: &'static str,
    reasons_heading: &'static str,
) -> FlipTable {
    FlipTable {
        title,
        reasons_heading,
        must_first: list.iter().any(|f| f.must_pass),
        total: list.len(),
        hidden: list.len().saturating_sub(MAX_FLIPS_SHOWN),
        rows: list
            .iter()
            .take(MAX_FLIPS_SHOWN)
            .map(|f| FlipRow {
                id: text(&f.id),
                repeat: (c.repeats > 1).then_some(f.repeat),
                must_pass: f.must_pass,
                location: text(&format!("{}:{}", c.golden.path, f.line)),
                tags: f.tags.iter().map(|t| text(t)).collect(),
                reasons: f.reasons.iter().map(|r| clipped(r, REASON_BYTES)).collect(),
            })
            .collect(),
    }
}

fn page(c: &Comparison) -> Page {
    let p = &c.pass_rate;
    let (verdict, verdict_word) = match c.verdict {
        Verdict::Pass => ("pass", "PASS"),
        Verdict::Fail => ("fail", "FAIL"),
    };
    let counts = format!(
        "{} regression{}, {} improvement{}, p = {}",
        p.regressions,
        plural(p.regressions as usize),
        p.improvements,
        plural(p.improvements as usize),
        format_p(p.p_value)
    );
    let headline = match c.verdict {
        Verdict::Pass => format!("No significant regression ({counts})."),
        Verdict::Fail => format!(
            "The candidate does not pass ({counts}). Reason{}:",
            plural(c.reasons.len())
        ),
    };
    let sides = [("baseline", &c.baseline), ("candidate", &c.candidate)]
        .into_iter()
        .map(|(label, side)| SideRow {
            label,
            prompt_id: text(&side.prompt_id),
            short_version: short_version(&side.prompt_version),
            version: text(&side.prompt_version),
            path: text(&side.prompt_path),
            run_id: text(&side.run_id),
            run_dir: text(&side.run_dir),
            passed: side.verdict == Verdict::Pass,
            pass_rate: format!("{} ({})", rate(side.pass_rate), percent(side.pass_rate)),
        })
        .collect();
    let pairs = p.both_pass + p.regressions + p.improvements + p.both_fail;
    let policy = &c.policy;
    let margin = policy.max_drop.map(|m| -m.abs());
    Page {
        verdict,
        verdict_word,
        headline,
        reasons: c.reasons.iter().map(|r| clipped(r, REASON_BYTES)).collect(),
        title: text(&format!(
            "promptgate compare {verdict_word}: {} @ {} → {} @ {}",
            c.baseline.prompt_id,
            short_version(&c.baseline.prompt_version),
            c.candidate.prompt_id,
            short_version(&c.candidate.prompt_version)
        )),
        sides,
        golden: GoldenRow {
            path: text(&c.golden.path),
            hash: text(&c.golden.hash),
            note: format!(
                "{} case{} × {} repeat{}",
                c.golden.cases,
                plural(c.golden.cases),
                c.repeats,
                plural(c.repeats as usize)
            ),
        },
        criteria: CriteriaRow {
            path: text(&c.criteria.path),
            version: c.criteria.version,
            hash: text(&c.criteria.hash),
        },
        pass_rate: PassRateView {
            baseline: rate(p.baseline),
            candidate: rate(p.candidate),
            delta: signed(p.delta),
            ci: interval(&p.ci),
            both_pass: p.both_pass,
            regressions: p.regressions,
            improvements: p.improvements,
            both_fail: p.both_fail,
            pairs: if c.repeats > 1 {
                format!("{pairs} (case, repeat) pair{}", plural(pairs as usize))
            } else {
                format!("{pairs} pair{}", plural(pairs as usize))
            },
            cases: format!("{} case{}", p.cases, plural(p.cases as usize)),
            p: format_p(p.p_value),
            mid_p: p.mid_p_value.map(format_p),
            method: text(&p.method),
            min_detectable_drop: rate(p.min_detectable_drop),
            power_note: format!(
                "This golden set detects pass-rate drops of {} or more at alpha {} with 80% power.",
                rate(p.min_detectable_drop),
                policy.alpha
            ),
        },
        policy: PolicyView {
            metric: text(&policy.metric),
            alpha: policy.alpha.to_string(),
            delta: signed(policy.delta),
            ci: interval(&policy.ci),
            p: format_p(policy.p_value),
            significantly_worse: policy.significantly_worse,
            non_inferiority: margin.map(|m| policy.too_small.is_none() && policy.ci.low >= m),
            margin: margin.map(signed).unwrap_or_default(),
            too_small: policy.too_small.as_deref().map(text),
        },
        forest: forest(c),
        scorers: c
            .scorers
            .iter()
            .map(|s| ScorerRow {
                name: text(&s.name),
                pairs: s.pairs,
                baseline_mean: rate(s.baseline_mean),
                candidate_mean: rate(s.candidate_mean),
                delta: signed(s.mean_delta),
                ci: interval(&s.ci),
                p: format_p(s.p_value),
                test: text(&s.test),
                resamples: if s.resamples == 0 {
                    "–".into()
                } else {
                    s.resamples.to_string()
                },
            })
            .collect(),
        bootstrap_note: format!(
            "Paired bootstrap: seed {}, {} resamples requested (fewer are drawn on very large sets; none with repeats).",
            c.bootstrap_seed, c.bootstrap_resamples
        ),
        tags: c
            .tags
            .iter()
            .map(|t| TagRow {
                tag: text(&t.tag),
                pairs: t.pairs,
                baseline: rate(t.baseline_pass_rate),
                candidate: rate(t.candidate_pass_rate),
                delta: signed(t.delta),
                ci: interval(&t.ci),
                regressions: t.regressions,
                improvements: t.improvements,
                p: format_p(t.p_value),
                p_holm: format_p(t.p_holm),
                significant: t.p_holm < policy.alpha,
            })
            .collect(),
        regressions: flip_table(
            c,
            &c.regressions,
            "Regressions (pass → fail)",
            "why the candidate failed",
        ),
        improvements: flip_table(
            c,
            &c.improvements,
            "Improvements (fail → pass)",
            "why the baseline failed",
        ),
        drops: c
            .largest_drops
            .iter()
            .map(|d| DropRow {
                id: text(&d.id),
                repeat: (c.repeats > 1).then_some(d.repeat),
                scorer: text(&d.scorer),
                baseline: rate(d.baseline),
                candidate: rate(d.candidate),
                delta: signed(d.delta),
            })
            .collect(),
        tool_version: env!("CARGO_PKG_VERSION"),
        schema_version: c.schema_version,
        baseline_run: text(&c.baseline.run_id),
        candidate_run: text(&c.candidate.run_id),
    }
}

/// The comparison as one self-contained HTML page.
pub fn render(comparison: &Comparison) -> String {
    super::html::render_page(TEMPLATE_NAME, TEMPLATE, &page(comparison))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{
        PassRateComparison, PolicyResult, ScoreDrop, ScorerComparison, SideSummary, TagComparison,
    };
    use crate::rundir::{CriteriaRef, GoldenRef};

    use crate::report::html::tests::{check_self_contained, check_well_formed};

    fn ci(low: f64, high: f64) -> Interval {
        Interval { low, high }
    }

    fn flip(id: &str, line: usize, must_pass: bool, reasons: &[&str]) -> Flip {
        Flip {
            id: id.into(),
            repeat: 0,
            line,
            tags: vec!["refund".into()],
            must_pass,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    /// A small, fixed comparison: 20 cases, one repeat, a candidate that regressed on a
    /// must-pass case; two scorers, three tags, a non-inferiority margin.
    fn fixture() -> Comparison {
        Comparison {
            schema_version: crate::compare::SCHEMA_VERSION,
            verdict: Verdict::Fail,
            reasons: vec![
                "non-inferiority not shown: the 95% CI of the pass_rate delta reaches -0.312, below -max_drop = -0.050".into(),
                "must-pass case regressed: refund-001".into(),
            ],
            baseline: SideSummary {
                run_id: "20250101T000000Z-aaaa".into(),
                run_dir: ".promptgate/runs/20250101T000000Z-aaaa".into(),
                prompt_id: "support".into(),
                prompt_version: "sha256:1111111111111111111111111111111111111111111111111111111111111111".into(),
                prompt_path: "prompts/support.v1.toml".into(),
                pass_rate: 0.85,
                verdict: Verdict::Pass,
            },
            candidate: SideSummary {
                run_id: "20250102T000000Z-bbbb".into(),
                run_dir: ".promptgate/runs/20250102T000000Z-bbbb".into(),
                prompt_id: "support".into(),
                prompt_version: "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
                prompt_path: "prompts/support.v2.toml".into(),
                pass_rate: 0.75,
                verdict: Verdict::Pass,
            },
            golden: GoldenRef {
                path: "golden/support.jsonl".into(),
                hash: "sha256:3333333333333333333333333333333333333333333333333333333333333333".into(),
                cases: 20,
            },
            criteria: CriteriaRef {
                path: "criteria/support.toml".into(),
                version: 3,
                hash: "sha256:4444444444444444444444444444444444444444444444444444444444444444".into(),
            },
            repeats: 1,
            pass_rate: PassRateComparison {
                baseline: 0.85,
                candidate: 0.75,
                delta: -0.1,
                ci: ci(-0.312, 0.104),
                both_pass: 14,
                regressions: 3,
                improvements: 1,
                both_fail: 2,
                p_value: 0.625,
                mid_p_value: Some(0.375),
                method: "McNemar exact (two-sided); Newcombe paired CI".into(),
                min_detectable_drop: 0.35,
                cases: 20,
            },
            policy: PolicyResult {
                metric: "pass_rate".into(),
                alpha: 0.05,
                max_drop: Some(0.05),
                delta: -0.1,
                ci: ci(-0.312, 0.104),
                p_value: 0.625,
                significantly_worse: false,
                too_small: Some("the golden set is too small to show non-inferiority at max_drop = 0.05: with 20 cases, even zero flips leave a 95% CI reaching -0.161; add cases".into()),
            },
            scorers: vec![
                ScorerComparison {
                    name: "similarity".into(),
                    pairs: 20,
                    baseline_mean: 0.81,
                    candidate_mean: 0.74,
                    mean_delta: -0.07,
                    ci: ci(-0.13, -0.012),
                    resamples: 10_000,
                    p_value: 0.021,
                    test: "Wilcoxon signed-rank".into(),
                },
                ScorerComparison {
                    name: "contains".into(),
                    pairs: 12,
                    baseline_mean: 0.5,
                    candidate_mean: 0.583,
                    mean_delta: 0.083,
                    ci: ci(-0.083, 0.25),
                    resamples: 10_000,
                    p_value: 0.317,
                    test: "Wilcoxon signed-rank".into(),
                },
            ],
            tags: vec![
                TagComparison {
                    tag: "refund".into(),
                    pairs: 8,
                    baseline_pass_rate: 1.0,
                    candidate_pass_rate: 0.75,
                    delta: -0.25,
                    ci: ci(-0.53, 0.06),
                    regressions: 2,
                    improvements: 0,
                    p_value: 0.5,
                    p_holm: 1.0,
                },
                TagComparison {
                    tag: "billing".into(),
                    pairs: 6,
                    baseline_pass_rate: 0.667,
                    candidate_pass_rate: 0.833,
                    delta: 0.167,
                    ci: ci(-0.20, 0.52),
                    regressions: 0,
                    improvements: 1,
                    p_value: 1.0,
                    p_holm: 1.0,
                },
                TagComparison {
                    tag: "safety".into(),
                    pairs: 6,
                    baseline_pass_rate: 0.833,
                    candidate_pass_rate: 0.667,
                    delta: -0.167,
                    ci: ci(-0.55, 0.22),
                    regressions: 1,
                    improvements: 0,
                    p_value: 1.0,
                    p_holm: 1.0,
                },
            ],
            regressions: vec![
                flip("refund-001", 1, true, &["contains: \"refund\" not found"]),
                flip("refund-004", 4, false, &["similarity 0.41 < 0.70"]),
                Flip {
                    tags: vec!["safety".into()],
                    ..flip("safety-002", 17, false, &["regex: matched \"password\""])
                },
            ],
            improvements: vec![Flip {
                tags: vec!["billing".into()],
                ..flip("billing-003", 11, false, &["similarity 0.52 < 0.70"])
            }],
            largest_drops: vec![
                ScoreDrop {
                    id: "refund-004".into(),
                    repeat: 0,
                    scorer: "similarity".into(),
                    baseline: 0.93,
                    candidate: 0.41,
                    delta: -0.52,
                },
                ScoreDrop {
                    id: "refund-001".into(),
                    repeat: 0,
                    scorer: "contains".into(),
                    baseline: 1.0,
                    candidate: 0.0,
                    delta: -1.0,
                },
            ],
            bootstrap_seed: crate::compare::DEFAULT_SEED,
            bootstrap_resamples: crate::compare::DEFAULT_RESAMPLES,
        }
    }

    /// Every number in the SVG geometry attributes, which must all parse as finite.
    fn svg_numbers(html: &str) -> Vec<f64> {
        let start = html.find("<svg").expect("a chart");
        let end = html.find("</svg>").expect("the chart closes");
        let svg = &html[start..end];
        let mut numbers = Vec::new();
        for attr in [
            " x=\"",
            " y=\"",
            " x1=\"",
            " x2=\"",
            " y1=\"",
            " y2=\"",
            " cx=\"",
            " cy=\"",
            " width=\"",
            " height=\"",
        ] {
            for (i, _) in svg.match_indices(attr) {
                let value = &svg[i + attr.len()..];
                let value = &value[..value.find('"').unwrap()];
                let n: f64 = value
                    .parse()
                    .unwrap_or_else(|_| panic!("{attr}{value}\" is not a number"));
                assert!(n.is_finite(), "{attr}{value}\"");
                numbers.push(n);
            }
        }
        numbers
    }

    #[test]
    fn snapshot() {
        let html = render(&fixture());
        check_well_formed(&html);
        insta::assert_snapshot!("compare_html", html);
    }

    #[test]
    fn self_contained() {
        check_self_contained(&render(&fixture()));
    }

    #[test]
    fn shows_what_the_markdown_shows() {
        let html = render(&fixture());
        for needle in [
            "promptgate compare: FAIL",
            "must-pass case regressed: refund-001",
            "support.v1.toml",
            "support.v2.toml",
            "20250101T000000Z-aaaa",
            "20250102T000000Z-bbbb",
            "111111111111<",
            "222222222222<",
            "20 cases × 1 repeat",
            "version 3",
            "0.850 → 0.750",
            "-0.100",
            "[-0.312, +0.104]",
            "0.6250",
            "mid-p 0.3750",
            "McNemar exact (two-sided); Newcombe paired CI",
            "0.350",
            "the golden set is too small to show non-inferiority",
            "[-0.130, -0.012]",
            "0.0210",
            "Wilcoxon signed-rank",
            "10000",
            "Regressions (pass → fail) (3)",
            "Improvements (fail → pass) (1)",
            "<span class=\"badge must\">must pass</span>",
            "golden&#x2f;support.jsonl:17",
            "-0.520",
        ] {
            assert!(html.contains(needle), "{needle:?} missing");
        }
        // Only the must-pass regression carries the badge.
        assert_eq!(html.matches("badge must").count(), 1);
        let pass = Comparison {
            verdict: Verdict::Pass,
            reasons: Vec::new(),
            ..fixture()
        };
        let html = render(&pass);
        assert!(html.contains("<section class=\"banner pass\">"));
        assert!(
            html.contains("No significant regression (3 regressions, 1 improvement, p = 0.6250).")
        );
    }

    #[test]
    fn hostile_text_renders_as_text() {
        let script = "<script>alert(1)</script>";
        let breaker = "\"><img src=x onerror=alert(1)>";
        let bidi = "abc \u{202E}gnp.exe\u{202C} שלום مرحبا";
        let huge = format!("{script}{}", "A".repeat(100 * 1024));
        let mut c = fixture();
        c.reasons = vec![
            script.into(),
            breaker.into(),
            bidi.into(),
            huge.clone(),
            "</li></ul></section><!-- <b>bold".into(),
        ];
        for side in [&mut c.baseline, &mut c.candidate] {
            side.prompt_id = script.into();
            // Multi-byte text where a hash is expected must not split a character.
            side.prompt_version = format!("sha256:ééééé{breaker}");
            side.prompt_path = breaker.into();
            side.run_id = "</title><script>alert(1)</script>".into();
            side.run_dir = bidi.into();
        }
        c.golden.path = "golden/\"><script>.jsonl".into();
        c.criteria.path = breaker.into();
        c.pass_rate.method = script.into();
        c.policy.metric = format!("mean:{script}");
        c.policy.too_small = Some(breaker.into());
        c.scorers[0].name = script.into();
        c.scorers[0].test = breaker.into();
        c.tags[0].tag = "<script>alert('tag')</script>".into();
        c.tags[1].tag = bidi.into();
        for f in c.regressions.iter_mut().chain(c.improvements.iter_mut()) {
            f.id = breaker.into();
            f.tags = vec!["<i>tag</i>".into(), "t\"ag'".into()];
            f.reasons = vec![script.into(), bidi.into(), huge.clone()];
        }
        c.largest_drops[0].id = script.into();
        c.largest_drops[0].scorer = breaker.into();

        let html = render(&c);
        let tags = check_well_formed(&html);
        assert_eq!(tags.iter().filter(|t| *t == "script").count(), 0);
        assert_eq!(html.to_ascii_lowercase().matches("<script").count(), 0);
        assert!(!html.contains("<img") && !html.contains("<i>tag") && !html.contains("<b>bold"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;&#x2f;li&gt;&lt;&#x2f;ul&gt;&lt;&#x2f;section&gt;"));
        assert!(html.contains("t&quot;ag&#x27;"));
        // Bidirectional overrides are shown, not obeyed; right-to-left text is kept.
        assert!(!html.contains('\u{202E}') && !html.contains('\u{202C}'));
        assert!(html.contains("[U+202E]gnp.exe[U+202C] שלום مرحبا"));
        assert!(html.contains("dir=\"auto\""));
        assert!(html.contains("ééééé&quot;&gt;&lt;im"));
        // The 100 KiB reasons (banner, 3 regressions, 1 improvement) are cut, with a note.
        let note = format!(
            " … [trimmed: {REASON_BYTES} of {} bytes shown; the whole text is in the JSON report]",
            huge.len()
        );
        assert_eq!(html.matches(&note).count(), 5);
        assert!(!html.contains(&"A".repeat(REASON_BYTES)));
        assert!(html.len() < 100_000, "{} bytes", html.len());
        svg_numbers(&html);
    }

    #[test]
    fn forest_follows_the_numbers() {
        let c = fixture();
        let f = forest(&c).unwrap();
        // Pass rate, two scorers, three tags.
        assert_eq!(f.rows.len(), 6);
        assert_eq!(f.hidden, 0);
        // The axis covers every interval and the margin, with zero inside.
        let first = f.ticks.first().unwrap();
        let last = f.ticks.last().unwrap();
        assert_eq!((first.x, last.x), (f.x0, f.x1));
        assert_eq!(
            (first.label.as_str(), last.label.as_str()),
            ("-0.6", "+0.6")
        );
        assert!(f.ticks.iter().any(|t| t.label == "0" && t.x == f.zero_x));
        for row in &f.rows {
            let point = row.point.unwrap();
            assert!((f.x0..=f.x1).contains(&point));
            if let Some(ci) = &row.ci {
                assert!(ci.low <= point && point <= ci.high, "{}", row.label);
            }
        }
        let pass_rate = &f.rows[0];
        assert!(pass_rate.point.unwrap() < f.zero_x);
        let ci = pass_rate.ci.as_ref().unwrap();
        assert!(ci.low < f.zero_x && f.zero_x < ci.high);
        assert_eq!(pass_rate.class, "neutral");
        // -max_drop sits on the policy's row only, between the CI's low end and zero.
        let margin = pass_rate.margin.unwrap();
        assert!(ci.low < margin && margin < f.zero_x);
        assert!(f.rows[1..].iter().all(|r| r.margin.is_none()));
        // similarity: significantly worse, its interval wholly below zero.
        let similarity = &f.rows[1];
        assert_eq!(similarity.label, "mean:similarity");
        assert_eq!(similarity.class, "worse");
        assert!(similarity.ci.as_ref().unwrap().high < f.zero_x);
        assert_eq!(f.rows[2].class, "neutral");
        assert!(f.rows[2].point.unwrap() > f.zero_x);
        // Tags: with their own intervals, coloured by the Holm-adjusted p.
        for row in &f.rows[3..] {
            assert!(row.ci.is_some() && !row.open && row.label.starts_with("tag "));
            assert_eq!(row.class, "neutral");
        }
        // A scorer policy puts the margin on that scorer's row.
        let mut by_scorer = fixture();
        by_scorer.policy.metric = "mean:contains".into();
        let f = forest(&by_scorer).unwrap();
        let marked: Vec<&str> = f
            .rows
            .iter()
            .filter(|r| r.margin.is_some())
            .map(|r| r.label.as_str())
            .collect();
        assert_eq!(marked, ["mean:contains"]);
    }

    #[test]
    fn odd_numbers_keep_the_chart_finite() {
        let mut c = fixture();
        c.pass_rate.delta = f64::NAN;
        c.pass_rate.ci = ci(f64::NEG_INFINITY, f64::NAN);
        c.scorers[0].mean_delta = 1e300;
        c.scorers[0].ci = ci(-1e300, 1e300);
        c.scorers[1].ci = ci(0.5, -0.5);
        c.tags[0].delta = f64::INFINITY;
        c.policy.max_drop = Some(f64::NAN);
        let html = render(&c);
        check_well_formed(&html);
        let numbers = svg_numbers(&html);
        assert!(numbers.len() > 20);
        let f = forest(&c).unwrap();
        assert!(f.ticks.len() <= 12, "{} ticks", f.ticks.len());
        assert!(f.rows[0].point.is_none() && f.rows[0].ci.is_none());
        assert!(f.rows[2].ci.is_none(), "an inverted interval is not drawn");
        assert!(f.rows.iter().all(|r| r.margin.is_none()));
    }

    #[test]
    fn long_and_empty_comparisons_render() {
        // 500 regressions and 100 tags: the first 200 cases are listed and 60 tags drawn.
        let mut c = fixture();
        c.regressions = (0..500)
            .map(|i| flip(&format!("case-{i:03}"), i + 1, false, &["failed"]))
            .collect();
        let template = c.tags[0].clone();
        c.tags = (0..100)
            .map(|i| TagComparison {
                tag: format!("tag-{i:03}"),
                ..template.clone()
            })
            .collect();
        let html = render(&c);
        check_well_formed(&html);
        assert!(html.contains("The first 200 are shown; all 500 are in the JSON report."));
        assert!(html.contains("case-199") && !html.contains("case-200"));
        assert!(html.contains("40 more tags are in the tags table."));
        assert!(html.contains("tag-099"), "every tag is in the table");

        // A pass with nothing to list, several repeats.
        let mut c = fixture();
        c.verdict = Verdict::Pass;
        c.reasons.clear();
        c.scorers.clear();
        c.tags.clear();
        c.regressions.clear();
        c.improvements.clear();
        c.largest_drops.clear();
        c.policy.max_drop = None;
        c.policy.too_small = None;
        c.pass_rate.mid_p_value = None;
        c.repeats = 3;
        let html = render(&c);
        check_well_formed(&html);
        assert!(html.contains("<section class=\"banner pass\">"));
        assert!(!html.contains("<ul>"), "no reasons listed");
        assert!(html.contains("No scorer was compared."));
        assert!(html.contains("The golden set has no tags."));
        assert!(html.contains("No score dropped."));
        assert!(html.contains("not tested: the policy sets no max_drop"));
        assert!(html.contains("(case, repeat) pairs"));
        assert!(!html.contains("mid-p"));
        assert_eq!(forest(&c).unwrap().rows.len(), 1);
    }
}

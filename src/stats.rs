//! Paired statistics for `compare` and for honest absolute gates.
//!
//! Everything here is paired: the baseline and the candidate ran on the same golden cases, so
//! the case is the unit of analysis and unpaired tests (which ignore the pairing and waste
//! most of the information) are deliberately absent.
//!
//! | question | function |
//! | --- | --- |
//! | did pass/fail change? | [`mcnemar_exact`] (exact and mid-p) |
//! | how much did the pass rate move? | [`newcombe_paired_diff`] (CI for the paired difference) |
//! | is a pass rate above a floor, honestly? | [`wilson`] (test `min` on the lower bound) |
//! | how much did a numeric score move? | [`paired_bootstrap_mean`] (percentile CI, seeded) |
//! | did a numeric score move at all? | [`wilcoxon_signed_rank`] (matches SciPy's default) |
//! | repeats of one case are not independent | [`clustered_mean_se`], [`clustered_mean`] |
//! | a pass rate (or its paired delta) with repeats | [`clustered_wilson`], [`clustered_paired_diff`] (Wilson / Newcombe on the effective sample size) |
//! | is the golden set big enough to judge? | [`min_detectable_drop`], [`margin_unreachable`] |
//! | many slices tested at once | [`holm`] |
//! | how far can a judge be trusted? | [`Agreement`] (TPR, TNR, Cohen's kappa), [`rogan_gladen`] |
//!
//! Reference values in the unit tests come from `tests/stats_reference/reference.py`
//! (SciPy/statsmodels, or the papers' formulas re-implemented independently); its output is
//! committed beside it as `reference_output.txt`, so the tests never need Python.
//!
//! Conventions: `confidence` is a two-sided level such as `0.95`; functions panic on
//! arguments that are programming errors (a confidence outside (0, 1), mismatched lengths),
//! because a gate must never silently pass on a nonsensical configuration. A `NaN` result
//! means "not measured" and callers must treat it as a failed gate.

use std::collections::HashMap;
use std::f64::consts::PI;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Default number of bootstrap resamples (the issue's contract: 10,000 unless told otherwise).
pub const DEFAULT_RESAMPLES: u32 = 10_000;

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// True when `x` lies in the closed interval.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Rejects a confidence level outside (0, 1): a gate configured with one is a bug, and failing
/// loudly is safer than an interval of NaNs that compares false and lets a gate through.
fn check_confidence(confidence: f64) {
    assert!(
        confidence > 0.0 && confidence < 1.0,
        "confidence must be in (0, 1), got {confidence}"
    );
}

/// The standard normal quantile for a two-sided `confidence` level (1.959963984540054 for
/// 0.95), computed from the tail area `(1 − confidence)/2` as SciPy's `norm.isf(alpha/2)`
/// (what statsmodels uses) does.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
fn z_two_sided(confidence: f64) -> f64 {
    check_confidence(confidence);
    let alpha = 1.0 - confidence;
    -Normal::standard().inverse_cdf(alpha / 2.0)
}

// ---------------------------------------------------------------------------------------------
// McNemar
// ---------------------------------------------------------------------------------------------

/// The outcome of McNemar's exact test on the discordant pairs of a paired pass/fail table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Regressions: baseline passed, candidate failed.
    pub b: u64,
    /// Improvements: baseline failed, candidate passed.
    pub c: u64,
    /// Two-sided exact p-value, `min(1, 2·P(X ≤ min(b, c)))` with `X ~ Binomial(b + c, 1/2)`.
    pub p_value: f64,
    /// Two-sided mid-p value, `min(1, 2·[P(X ≤ k) − ½·P(X = k)])` with `k = min(b, c)`.
    pub mid_p_value: f64,
}

impl McNemar {
    /// "Significantly worse" in the issue's sense: more regressions than improvements and
    /// the exact p-value below `alpha`. The exact (not mid-p) value is used because the gate
    /// must not be anti-conservative.
    pub fn significantly_worse(&self, alpha: f64) -> bool {
        self.b > self.c && self.p_value < alpha
    }
}

/// McNemar's exact test, two-sided, for paired pass/fail outcomes.
///
/// Only the discordant pairs carry information about a change: under "no difference" each of
/// the `b + c` flips is equally likely to go either way, so the count of regressions is
/// Binomial(b + c, 1/2) and the test is an exact binomial sign test. The concordant pairs
/// (both pass, both fail) do not enter.
///
/// The exact p-value is conservative for small counts (its real size is below alpha), which
/// is why the mid-p value is reported too: it subtracts half the probability of the observed
/// outcome and is closer to nominal size, at the cost of no longer guaranteeing it.
///
/// `b + c = 0` gives p = mid-p = 1 (nothing flipped, no evidence of anything), and `b == c`
/// gives exactly 1 for both (by symmetry `2·P(X ≤ n/2) − P(X = n/2) = 1`).
///
/// statrs's `Binomial::cdf` is not used: it goes through the regularized incomplete beta,
/// whose continued fraction stops after 140 iterations without reporting non-convergence, and
/// whose `ln_gamma` differences cancel: measured against SciPy, 2e-10 relative error at
/// `b + c = 150,000` in the tail and 2.3e-7 near the centre (`b = 100,010, c = 99,990`: 0.9661121
/// instead of 0.9661119). Instead the probability of the observed count is
/// computed with Loader's saddle-point formula (the one R's `dbinom` uses: no cancellation,
/// about 1e-15 relative error for any `n`) and the tail is summed with the exact ratio
/// recurrence `P(X = i−1) = P(X = i) · i / (n − i + 1)`, stopping once terms no longer change
/// the sum. This works for `b + c` up to and beyond 200,000 without overflow; a result below
/// the smallest double underflows to 0.
pub fn mcnemar_exact(b: u64, c: u64) -> McNemar {
    let n = b + c;
    let k = b.min(c);
    if n == 0 || b == c {
        return McNemar {
            b,
            c,
            p_value: 1.0,
            mid_p_value: 1.0,
        };
    }
    let (cdf, pmf) = binom_half_lower_tail(k, n);
    McNemar {
        b,
        c,
        p_value: (2.0 * cdf).min(1.0),
        mid_p_value: (2.0 * cdf - pmf).min(1.0),
    }
}

/// `(P(X ≤ k), P(X = k))` for `X ~ Binomial(n, 1/2)` and `k < n/2`.
fn binom_half_lower_tail(k: u64, n: u64) -> (f64, f64) {
    let pmf_k = binom_half_pmf(k, n);
    let mut sum = pmf_k;
    let mut term = pmf_k;
    let nf = n as f64;
    let mut i = k;
    // Terms shrink geometrically below the mode; once a term cannot move the sum, the
    // remaining (smaller still) ones cannot either.
    while i > 0 && term > sum * 1e-18 {
        let fi = i as f64;
        term *= fi / (nf - fi + 1.0);
        sum += term;
        i -= 1;
    }
    (sum, pmf_k)
}

/// `P(X = k)` for `X ~ Binomial(n, 1/2)`, by Loader (2000), "Fast and accurate computation
/// of binomial probabilities": the Stirling-series remainder and the deviance term `bd0` are
/// each computed without subtracting large logarithms.
fn binom_half_pmf(k: u64, n: u64) -> f64 {
    if n == 0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if k > n {
        return 0.0;
    }
    if k == 0 || k == n {
        // 2^-n exactly while representable (powers of two are exact), else it underflows.
        return if n <= 1074 {
            0.5f64.powi(n as i32)
        } else {
            0.0
        };
    }
    let (x, m, nf) = (k as f64, (n - k) as f64, n as f64);
    let half = nf / 2.0;
    let lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(x, half) - bd0(m, half);
    let lf = (2.0 * PI).ln() + x.ln() + (-x / nf).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// `ln(n!) − ln(√(2πn)·(n/e)^n)`, the error of Stirling's approximation, without
/// cancellation for large `n`.
fn stirlerr(n: u64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    let nf = n as f64;
    if n <= 15 {
        // n! is exact in a double here, so the direct formula only loses ~1e-15 absolute.
        let fact: f64 = (1..=n).map(|i| i as f64).product();
        return fact.ln() - (nf + 0.5) * nf.ln() + nf - 0.5 * (2.0 * PI).ln();
    }
    let nn = nf * nf;
    if n > 500 {
        (S0 - S1 / nn) / nf
    } else if n > 80 {
        (S0 - (S1 - S2 / nn) / nn) / nf
    } else if n > 35 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / nf
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / nf
    }
}

/// The deviance term `x·ln(x/np) + np − x`, by a series when `x` is close to `np` (where the
/// direct formula cancels catastrophically).
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        let mut j = 1.0;
        loop {
            ej *= v2;
            let s1 = s + ej / (2.0 * j + 1.0);
            if s1 == s {
                return s1;
            }
            s = s1;
            j += 1.0;
        }
    }
    x * (x / np).ln() + np - x
}

// ---------------------------------------------------------------------------------------------
// Wilson and Newcombe
// ---------------------------------------------------------------------------------------------

/// The Wilson score interval for a single proportion `successes / n`.
///
/// Used for honest absolute gates: testing `min` on the lower bound rather than on the point
/// estimate means a gate of 0.95 is not "passed" by 19 of 20 lucky cases. Wilson rather than
/// the Wald interval because Wald collapses to a point at 0 % and 100 % — exactly where golden
/// sets live — while Wilson stays inside [0, 1] and has close to nominal coverage even for
/// small `n`. Matches statsmodels `proportion_confint(method="wilson")`.
///
/// `n = 0` gives `[0, 1]` (no information; statsmodels returns NaN).
///
/// # Panics
/// If `confidence` is not in (0, 1) or `successes > n`.
pub fn wilson(successes: u64, n: u64, confidence: f64) -> Interval {
    assert!(successes <= n, "successes ({successes}) > n ({n})");
    let z = z_two_sided(confidence);
    if n == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let nf = n as f64;
    // At 0 and n the bounds are exactly 0 and 1 mathematically; pin them so rounding never
    // puts a perfect pass rate's upper bound at 0.9999999999999999.
    wilson_score(successes as f64 / nf, nf, z, successes == 0, successes == n)
}

/// The Wilson score interval at proportion `p` on `n` (possibly fractional) trials, with the
/// ends pinned to exactly 0 / 1 when asked.
fn wilson_score(p: f64, nf: f64, z: f64, pin_low: bool, pin_high: bool) -> Interval {
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let low = if pin_low {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if pin_high {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Interval { low, high }
}

/// The Wilson interval of proportion `p` observed on an effective sample size `n_eff` (which
/// need not be an integer): Rao & Scott's (1992) adjustment for clustered binary data, which
/// divides both the count and the sample size by the design effect and then applies the
/// binomial method. `p = 0` and `p = 1` pin the ends to exactly 0 and 1, as [`wilson`] does;
/// with an integer `n_eff` and `p = k / n_eff` the result is bit for bit `wilson(k, n_eff)`.
/// `n_eff ≤ 0` (or NaN) gives `[0, 1]`, no information.
///
/// # Panics
/// If `confidence` is not in (0, 1) or `p` is not in [0, 1].
pub fn wilson_effective(p: f64, n_eff: f64, confidence: f64) -> Interval {
    assert!((0.0..=1.0).contains(&p), "proportion {p} is not in [0, 1]");
    let z = z_two_sided(confidence);
    if n_eff.is_nan() || n_eff <= 0.0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    wilson_score(p, n_eff, z, p == 0.0, p == 1.0)
}

/// Confidence interval for the paired difference of pass rates `p_candidate − p_baseline`,
/// Newcombe's (1998) method 10: "Improved confidence intervals for the difference between
/// binomial proportions based on paired data", Statistics in Medicine 17:2635–2650.
///
/// Cells: `a` both pass, `b` baseline pass & candidate fail (regressions), `c` baseline fail
/// & candidate pass (improvements), `d` both fail. The estimate is `(c − b)/n`.
///
/// Why this method: it is a "square-and-add" of the two margins' Wilson intervals (so it
/// inherits Wilson's good behaviour at 0 % and 100 %, never leaves [−1, 1], and needs no
/// iteration), corrected for the correlation between the two margins — which is the whole
/// point of pairing: the same cases are hard for both prompts, so the difference is far more
/// precise than two independent proportions would suggest. The correlation is the phi
/// coefficient of the table with the continuity correction on `D = ad − bc` that goes with
/// it: `φ = (D − n/2)/√(efgh)` if `D > n/2`, `0` if `0 ≤ D ≤ n/2`, `D/√(efgh)` if `D < 0`,
/// and `φ = 0` when any margin `e = a+b, f = c+d, g = a+c, h = b+d` is empty. The correction
/// damps φ for small tables, so that a table with no discordant pairs does not collapse to a
/// point (22, 0, 0, 22 gives [0, 0] with the raw φ = 1, ±0.0427 with the corrected one). It is the form of Fagerland, Lydersen & Laake (2017, "Statistical
/// Analysis of Contingency Tables", ch. 8), whose published worked example (59, 6, 16, 80) →
/// −0.0621 (−0.1186, −0.0046) is a unit test here; the uncorrected φ gives (−0.1174, −0.0059)
/// on that table and does not reproduce it.
///
/// With `θ = p_c − p_b` and Wilson limits `(l_c, u_c)`, `(l_b, u_b)`:
/// `L = θ − √((p_c − l_c)² − 2φ(p_c − l_c)(u_b − p_b) + (u_b − p_b)²)`,
/// `U = θ + √((u_c − p_c)² − 2φ(u_c − p_c)(p_b − l_b) + (p_b − l_b)²)`.
///
/// Edge cases: `n = 0` gives `[−1, 1]`; zero discordant pairs with everything passing gives
/// `[−z²/(n + z²), +z²/(n + z²)]` (n = 44 → ±0.0803).
///
/// # Panics
/// If `confidence` is not in (0, 1).
pub fn newcombe_paired_diff(a: u64, b: u64, c: u64, d: u64, confidence: f64) -> Interval {
    newcombe_paired_diff_effective(a as f64, b as f64, c as f64, d as f64, confidence)
}

/// [`newcombe_paired_diff`] on a table of effective (possibly fractional) counts: the
/// clustered table divided by its design effect, as Rao & Scott (1992) do for clustered
/// binary data (see [`clustered_paired_diff`]). Integer counts give exactly the integer
/// function's result (the same operations in the same order).
///
/// # Panics
/// If `confidence` is not in (0, 1) or a count is negative or not finite.
pub fn newcombe_paired_diff_effective(a: f64, b: f64, c: f64, d: f64, confidence: f64) -> Interval {
    check_confidence(confidence);
    assert!(
        [a, b, c, d].iter().all(|x| x.is_finite() && *x >= 0.0),
        "table counts must be finite and non-negative: {a}, {b}, {c}, {d}"
    );
    let z = z_two_sided(confidence);
    let nf = a + b + c + d;
    if nf == 0.0 {
        return Interval {
            low: -1.0,
            high: 1.0,
        };
    }
    let cand_pass = a + c;
    let base_pass = a + b;
    let p_c = cand_pass / nf;
    let p_b = base_pass / nf;
    let theta = p_c - p_b;
    let Interval {
        low: l_c,
        high: u_c,
    } = wilson_score(p_c, nf, z, cand_pass == 0.0, cand_pass == nf);
    let Interval {
        low: l_b,
        high: u_b,
    } = wilson_score(p_b, nf, z, base_pass == 0.0, base_pass == nf);
    let phi = newcombe_phi(a, b, c, d);
    let dl = (p_c - l_c, u_b - p_b);
    let du = (u_c - p_c, p_b - l_b);
    // The radicand is a squared distance minus a correlation term; with |φ| ≤ 1 it is never
    // negative mathematically, but rounding can make it −1e-17.
    let low = theta
        - (dl.0 * dl.0 - 2.0 * phi * dl.0 * dl.1 + dl.1 * dl.1)
            .max(0.0)
            .sqrt();
    let high = theta
        + (du.0 * du.0 - 2.0 * phi * du.0 * du.1 + du.1 * du.1)
            .max(0.0)
            .sqrt();
    Interval {
        low: low.max(-1.0),
        high: high.min(1.0),
    }
}

/// Newcombe's continuity-corrected phi coefficient of a paired 2×2 table (see
/// [`newcombe_paired_diff`]).
fn newcombe_phi(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let (e, f, g, h) = (a + b, c + d, a + c, b + d);
    if e == 0.0 || f == 0.0 || g == 0.0 || h == 0.0 {
        return 0.0;
    }
    let n = a + b + c + d;
    // Integer counts are exact in a double: a·d reaches 1e10 for 200,000 cases.
    let big_d = a * d - b * c;
    let denom = (e * f * g * h).sqrt();
    let corrected = if big_d > n / 2.0 {
        big_d - n / 2.0
    } else if big_d >= 0.0 {
        0.0
    } else {
        big_d
    };
    corrected / denom
}

/// The lower end of the [`newcombe_paired_diff`] interval in the best unremarkable case:
/// zero flips, with `baseline_passes` of `n` cases passing on both sides.
///
/// # Panics
/// If `baseline_passes > n` or `confidence` is not in (0, 1).
pub fn zero_flip_lower_bound(n: u64, baseline_passes: u64, confidence: f64) -> f64 {
    assert!(baseline_passes <= n, "baseline_passes > n");
    newcombe_paired_diff(baseline_passes, 0, 0, n - baseline_passes, confidence).low
}

/// True when the golden set is too small to ever show non-inferiority at margin `max_drop`:
/// even if the candidate flips no case at all, the CI's lower end is below `−max_drop`, so
/// the comparison gate would fail whatever the candidate does (short of improving cases).
/// Reporting this plainly tells the release manager to grow the golden set rather than to
/// fix the prompt. Pass `baseline_passes = n` for the usual all-pass golden set: then
/// `n = 44` gives a lower end of −0.0803, so any `max_drop` below 0.08 is unreachable.
///
/// # Panics
/// If `baseline_passes > n` or `confidence` is not in (0, 1).
pub fn margin_unreachable(n: u64, baseline_passes: u64, max_drop: f64, confidence: f64) -> bool {
    zero_flip_lower_bound(n, baseline_passes, confidence) < -max_drop
}

// ---------------------------------------------------------------------------------------------
// Paired bootstrap
// ---------------------------------------------------------------------------------------------

/// A percentile-bootstrap confidence interval for the mean paired delta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// The observed mean delta (candidate − baseline).
    pub mean: f64,
    /// The percentile interval of the resampled means.
    pub interval: Interval,
    /// Resamples drawn (reported so the result can be reproduced).
    pub resamples: u32,
    /// The seed (reported so the result can be reproduced).
    pub seed: u64,
}

const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
#[inline(always)]
fn splitmix_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: tiny, fast, passes BigCrush, and trivially re-implemented in Python, which is
/// what makes the bootstrap reproducible bit for bit across platforms and checkable against
/// an independent reference. No crate's generator is used because a crate upgrade could
/// silently change every reported interval.
#[derive(Debug, Clone)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(SPLITMIX_GAMMA);
        splitmix_mix(self.state)
    }
}

/// Draws uniform indices in `0..n` from a stream of 32-bit halves (low half of each 64-bit
/// output first, then the high half), by Lemire's multiply-and-shift with rejection of the
/// `2^32 mod n` biased low products: unbiased, division-free, two indices per generator step.
/// This type is the definition of the index stream; [`fill_counts`] is a faster path that
/// produces exactly the same indices.
struct IndexSampler {
    rng: SplitMix64,
    buffer: u64,
    have_high: bool,
    n: u64,
    threshold: u32,
}

impl IndexSampler {
    fn new(seed: u64, n: u32) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            buffer: 0,
            have_high: false,
            n: u64::from(n),
            threshold: n.wrapping_neg() % n,
        }
    }

    #[inline(always)]
    fn next_u32(&mut self) -> u32 {
        if self.have_high {
            self.have_high = false;
            (self.buffer >> 32) as u32
        } else {
            self.buffer = self.rng.next_u64();
            self.have_high = true;
            self.buffer as u32
        }
    }

    #[inline(always)]
    fn index(&mut self) -> usize {
        loop {
            let m = u64::from(self.next_u32()) * self.n;
            if (m as u32) >= self.threshold {
                return (m >> 32) as usize;
            }
        }
    }
}

/// The seed of resample `r`'s own generator: the `r`-th output of SplitMix64 seeded with the
/// caller's seed. One independent stream per resample makes the result independent of how
/// resamples are split across threads.
fn resample_seed(seed: u64, r: u32) -> u64 {
    splitmix_mix(seed.wrapping_add(SPLITMIX_GAMMA.wrapping_mul(u64::from(r) + 1)))
}

/// Adds the `counts.len()` indices of one resample's stream to `counts` (which must be
/// zero), as multiplicities. Byte counters keep the 100,000-case table at 100 KB, inside the
/// core's L2 cache, where gathering `f64` deltas at random from an 800 KB array missed it on
/// every draw; a multiplicity above 255 wraps and is caught by the caller. The fast path takes
/// both halves of a 64-bit output when neither is rejected (all but ~n/2^31 of the time) and
/// otherwise hands over to [`IndexSampler`] mid-stream, so the indices are exactly its.
fn fill_counts(seed: u64, counts: &mut [u8]) {
    let n = counts.len();
    let mut s = IndexSampler::new(seed, n as u32);
    let (nn, threshold) = (s.n, s.threshold);
    let mut left = n;
    while left > 0 {
        if !s.have_high && left >= 2 {
            let r = s.rng.next_u64();
            let lo = (r & 0xFFFF_FFFF) * nn;
            let hi = (r >> 32) * nn;
            let lo_ok = (lo as u32) >= threshold;
            if lo_ok && (hi as u32) >= threshold {
                let (i, j) = ((lo >> 32) as usize, (hi >> 32) as usize);
                counts[i] = counts[i].wrapping_add(1);
                counts[j] = counts[j].wrapping_add(1);
                left -= 2;
                continue;
            }
            // A rejection: continue exactly as the sampler would, with the high half pending.
            s.buffer = r;
            s.have_high = true;
            if lo_ok {
                let i = (lo >> 32) as usize;
                counts[i] = counts[i].wrapping_add(1);
                left -= 1;
                continue;
            }
        }
        let i = s.index();
        counts[i] = counts[i].wrapping_add(1);
        left -= 1;
    }
}

/// `Σ count_i·δ_i` over `i` in index order with four interleaved accumulators (`i mod 4`,
/// combined as `(s0 + s1) + (s2 + s3)`): independent chains hide the floating-point add
/// latency, and the fixed order keeps the result bit-exact (the Python reference does the
/// same). Also returns `Σ count_i` to detect a wrapped byte counter.
fn weighted_sum4(deltas: &[f64], counts: &[u8]) -> (f64, u64) {
    let mut s = [0.0f64; 4];
    for (d, c) in deltas.chunks_exact(4).zip(counts.chunks_exact(4)) {
        s[0] += f64::from(c[0]) * d[0];
        s[1] += f64::from(c[1]) * d[1];
        s[2] += f64::from(c[2]) * d[2];
        s[3] += f64::from(c[3]) * d[3];
    }
    let full = deltas.len() / 4 * 4;
    for (k, (d, c)) in deltas[full..].iter().zip(&counts[full..]).enumerate() {
        s[k] += f64::from(*c) * d;
    }
    // A separate pass: the byte sum vectorizes on its own, while mixed into the loop above it
    // kept the floating-point lanes from vectorizing.
    let total = counts.iter().map(|c| u64::from(*c)).sum();
    ((s[0] + s[1]) + (s[2] + s[3]), total)
}

/// The mean of one bootstrap resample: `n` indices drawn with replacement, counted, then
/// `Σ count_i·δ_i / n`. `counts` is zeroed scratch of length `n` and is left zeroed.
fn resample_mean(deltas: &[f64], seed: u64, counts: &mut [u8]) -> f64 {
    let n = deltas.len();
    fill_counts(seed, counts);
    let (sum, total) = weighted_sum4(deltas, counts);
    counts.fill(0);
    if total == n as u64 {
        return sum / n as f64;
    }
    // Some case was drawn 256+ times (possible only for n ≥ 256, with probability about
    // n/256!): redo this resample with wide counters; same indices, same summation order.
    let mut wide = vec![0u64; n];
    let mut sampler = IndexSampler::new(seed, n as u32);
    for _ in 0..n {
        wide[sampler.index()] += 1;
    }
    let mut s = [0.0f64; 4];
    for (i, (c, d)) in wide.iter().zip(deltas).enumerate() {
        s[i % 4] += *c as f64 * d;
    }
    ((s[0] + s[1]) + (s[2] + s[3])) / n as f64
}

/// The sample quantile with linear interpolation between order statistics (Hyndman & Fan
/// type 7, NumPy's default `percentile(..., method="linear")`), on sorted data.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let h = last as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    if i >= last {
        return sorted[last];
    }
    let frac = h - lo;
    sorted[i] + frac * (sorted[i + 1] - sorted[i])
}

/// Paired bootstrap of the mean delta with a percentile confidence interval.
///
/// Why the bootstrap: score deltas are bounded, skewed and often lumpy (many zeros), so a
/// t-interval's normality assumption is doubtful for small sets, while resampling cases
/// respects whatever shape the deltas have. Resampling the *deltas* (one per case) keeps
/// the pairing: a case's baseline and candidate scores always travel together. (With
/// `--repeat K`, pass one delta per case — the mean over its repeats — so the case stays the
/// resampled unit; or use [`clustered_mean`].)
///
/// Reproducibility: resample `r` draws `n` indices from its own SplitMix64 stream seeded by
/// `resample_seed(seed, r)` (indices by Lemire's unbiased method, see `IndexSampler`);
/// its mean is `Σ count_i·δ_i / n` summed in index order with four accumulators; the interval
/// is the type-7 quantile at `(1 − confidence)/2` and `1 − (1 − confidence)/2` of the sorted
/// resample means. Same seed, same data → the same bits on every platform and thread count
/// (the Python reference reproduces them exactly). The point estimate `mean` is the plain
/// sample mean, summed the same way (all counts 1).
///
/// Speed: the work is `resamples × n` random draws — 10^9 for 100,000 cases × 10,000
/// resamples — and it is all done: the resample count is never cut behind the caller's back
/// (see [`adaptive_resamples`] and [`DEFAULT_MAX_DRAWS`] for an explicit budget). What keeps
/// it near the memory system's limit: two indices per generator step, multiply-shift instead
/// of division, multiplicities counted in an L2-resident byte table (100 KB for 100,000 cases)
/// instead of gathering deltas at random from memory, then one sequential weighted sum; and
/// the resamples spread over the available cores with `std::thread::scope` (each resample is
/// independent). Measured on the 2-core development machine (shared with other builds):
/// 100,000 × 10,000 in 1.3–1.6 s on 2 threads, 2.3–3.2 s on one; 2,000 resamples in 0.24–0.37 s.
/// Re-measure by hand with
/// `cargo test --release --lib stats::tests::bootstrap_timing -- --ignored --nocapture`.
///
/// Constant deltas (all equal, e.g. all zero) give that value as the mean and as both ends of
/// the interval, without resampling. Empty input or `resamples = 0` gives a NaN interval (not
/// measured); non-finite deltas give NaN throughout.
///
/// # Panics
/// If `confidence` is not in (0, 1) or there are more than `u32::MAX` deltas.
pub fn paired_bootstrap_mean(
    deltas: &[f64],
    resamples: u32,
    seed: u64,
    confidence: f64,
) -> Bootstrap {
    check_confidence(confidence);
    let alpha = 1.0 - confidence;
    assert!(
        deltas.len() <= u32::MAX as usize,
        "too many deltas for the bootstrap"
    );
    let nan = Bootstrap {
        mean: f64::NAN,
        interval: Interval {
            low: f64::NAN,
            high: f64::NAN,
        },
        resamples,
        seed,
    };
    if deltas.is_empty() || deltas.iter().any(|d| !d.is_finite()) {
        return nan;
    }
    if deltas.iter().all(|d| *d == deltas[0]) {
        // Every resample of a constant is that constant; answering directly keeps the
        // interval an exact point instead of a few ulps of rounding noise.
        let point = Interval {
            low: deltas[0],
            high: deltas[0],
        };
        return Bootstrap {
            mean: deltas[0],
            interval: if resamples == 0 { nan.interval } else { point },
            resamples,
            seed,
        };
    }
    let ones = vec![1u8; deltas.len()];
    let mean = weighted_sum4(deltas, &ones).0 / deltas.len() as f64;
    if resamples == 0 {
        return Bootstrap { mean, ..nan };
    }
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let mut means = bootstrap_means(deltas, resamples, seed, threads);
    means.sort_unstable_by(f64::total_cmp);
    Bootstrap {
        mean,
        interval: Interval {
            low: quantile_sorted(&means, alpha / 2.0),
            high: quantile_sorted(&means, 1.0 - alpha / 2.0),
        },
        resamples,
        seed,
    }
}

/// A draw budget for [`adaptive_resamples`]: 2·10^8 draws is ~0.3–0.5 s of CPU on the 2-core
/// development machine, so 10,000 resamples are kept up to 20,000 cases and 100,000 cases get
/// 2,000.
pub const DEFAULT_MAX_DRAWS: u64 = 200_000_000;

/// A resample count that keeps `n × resamples` within `max_draws` random draws, never below
/// `min(requested, 2,000)` and never above `requested`.
///
/// Why it exists: an exact bootstrap costs `n × resamples` random draws however it is coded
/// (each resample needs `n` fresh indices), and 100,000 cases × 10,000 resamples = 10^9 draws
/// is 1.5–2.5 s of CPU here — per numeric scorer. It is an explicit opt-in, not applied
/// silently by [`paired_bootstrap_mean`], so a caller that reports "10,000 resamples" is never
/// wrong; a caller that uses it must report [`Bootstrap::resamples`] (the count actually
/// used). The floor of 2,000 keeps the percentile endpoints' Monte Carlo error at about 6 % of
/// a standard error for a 95 % interval (2.7 % at 10,000) — small next to the sampling error
/// the interval describes, and at the sizes where the budget bites (tens of thousands of
/// cases) that standard error is itself tiny.
pub fn adaptive_resamples(n: usize, requested: u32, max_draws: u64) -> u32 {
    let floor = requested.min(2_000);
    if n == 0 {
        return requested;
    }
    let affordable = (max_draws / n as u64).min(u64::from(u32::MAX)) as u32;
    affordable.clamp(floor, requested)
}

/// The `resamples` bootstrap means in resample order, computed on up to `threads` threads.
/// Each resample has its own generator, so the output does not depend on `threads`.
fn bootstrap_means(deltas: &[f64], resamples: u32, seed: u64, threads: usize) -> Vec<f64> {
    let mut means = vec![0.0f64; resamples as usize];
    let threads = threads.clamp(1, means.len().max(1));
    // Small problems are not worth a thread spawn (tens of microseconds each).
    let work = deltas.len() as u64 * u64::from(resamples);
    if threads == 1 || work < 2_000_000 {
        let mut counts = vec![0u8; deltas.len()];
        for (r, slot) in means.iter_mut().enumerate() {
            *slot = resample_mean(deltas, resample_seed(seed, r as u32), &mut counts);
        }
        return means;
    }
    let chunk = means.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (ci, slots) in means.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                let mut counts = vec![0u8; deltas.len()];
                let first = ci * chunk;
                for (j, slot) in slots.iter_mut().enumerate() {
                    let seed = resample_seed(seed, (first + j) as u32);
                    *slot = resample_mean(deltas, seed, &mut counts);
                }
            });
        }
    });
    means
}

// ---------------------------------------------------------------------------------------------
// Wilcoxon signed-rank
// ---------------------------------------------------------------------------------------------

/// The outcome of a two-sided Wilcoxon signed-rank test on paired deltas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Wilcoxon {
    /// Deltas left after dropping exact zeros (Wilcoxon's convention).
    pub n_nonzero: usize,
    /// `min(R+, R−)`, SciPy's two-sided statistic.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed: `"exact"`, `"permutation"` (exhaustive, exact for the
    /// tied ranks), `"asymptotic"` (normal, tie-corrected), or `"none"` (no non-zero delta).
    pub method: &'static str,
}

/// Wilcoxon signed-rank test, two-sided, on paired deltas; reproduces SciPy 1.17's
/// `scipy.stats.wilcoxon(deltas)` defaults (`zero_method="wilcox"`, `correction=False`,
/// `method="auto"`).
///
/// Why this test next to the bootstrap: it asks whether the deltas lean one way (are
/// symmetric about zero or not), is insensitive to a few huge deltas and to the score's scale,
/// and is the conventional companion of a mean-delta CI.
///
/// Conventions, all as SciPy's defaults:
/// - zeros: exact zero deltas are dropped before ranking (Wilcoxon's original method); ties
///   among the absolute deltas get average ranks;
/// - `method="auto"` decides on the *original* length `len` (zeros included): if `len > 50`,
///   the normal approximation; otherwise, with no ties and no zeros, the exact null
///   distribution; with ties or zeros and `len ≤ 13`, the exhaustive sign-flip permutation
///   distribution of R+ (exact for the tied ranks; computed here by dynamic programming over
///   doubled ranks instead of enumerating 2^len sign patterns); otherwise the normal
///   approximation;
/// - exact/permutation two-sided p: `min(1, 2·min(P(R+ ≤ r), P(R+ ≥ r)))`;
/// - normal approximation: `z = (R+ − n(n+1)/4) / σ`,
///   `σ² = [n(n+1)(2n+1) − Σ(t³ − t)/2] / 24` over tie groups `t` (zeros are not a tie group),
///   **no continuity correction** (SciPy's default `correction=False`), `p = 2·Φ(−|z|)`.
///
/// Deviation: with no non-zero delta (including empty input) this returns p = 1 and method
/// `"none"`; SciPy returns 1 for `len ≤ 13` but NaN for longer all-zero input and for empty
/// input. "No delta at all" is no evidence of a difference, so 1 is the honest value.
/// Non-finite deltas give a NaN p-value (SciPy's `nan_policy="propagate"`).
pub fn wilcoxon_signed_rank(deltas: &[f64]) -> Wilcoxon {
    let len = deltas.len();
    if deltas.iter().any(|d| !d.is_finite()) {
        return Wilcoxon {
            n_nonzero: deltas.iter().filter(|d| **d != 0.0).count(),
            statistic: f64::NAN,
            p_value: f64::NAN,
            method: "none",
        };
    }
    let mut nonzero: Vec<f64> = deltas.iter().copied().filter(|d| *d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return Wilcoxon {
            n_nonzero: 0,
            statistic: 0.0,
            p_value: 1.0,
            method: "none",
        };
    }
    let has_zeros = n < len;
    nonzero.sort_unstable_by(|a, b| a.abs().total_cmp(&b.abs()));

    // Doubled average ranks are integers: a tie group at 1-based positions i..=j has rank
    // (i + j)/2, doubled i + j. Integers keep the exact distribution exact.
    let mut ranks2 = vec![0u64; n];
    let mut tie_term = 0.0f64; // Σ (t³ − t)
    let mut has_ties = false;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        if j > i {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        for r in &mut ranks2[i..=j] {
            *r = (i + 1 + j + 1) as u64;
        }
        i = j + 1;
    }
    let total2: u64 = ranks2.iter().sum();
    let r_plus2: u64 = nonzero
        .iter()
        .zip(&ranks2)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| *r)
        .sum();
    let r_plus = r_plus2 as f64 / 2.0;
    let r_minus = (total2 - r_plus2) as f64 / 2.0;
    let statistic = r_plus.min(r_minus);

    let (p_value, method) = if len > 50 || ((has_ties || has_zeros) && len > 13) {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) * 0.25;
        let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0).sqrt();
        let z = (r_plus - mean) / se;
        (2.0 * Normal::standard().cdf(-z.abs()), "asymptotic")
    } else {
        let p = signed_rank_exact_two_sided(&ranks2, r_plus2);
        (
            p,
            if has_ties || has_zeros {
                "permutation"
            } else {
                "exact"
            },
        )
    };
    Wilcoxon {
        n_nonzero: n,
        statistic,
        p_value,
        method,
    }
}

/// Two-sided p-value of R+ under random signs, from the exact distribution of the sum of a
/// random subset of the (doubled) ranks. Counts are exact in u64 up to 63 ranks; callers use
/// at most 50.
fn signed_rank_exact_two_sided(ranks2: &[u64], observed2: u64) -> f64 {
    let total: u64 = ranks2.iter().sum();
    let mut counts = vec![0u64; total as usize + 1];
    counts[0] = 1;
    let mut reach = 0usize;
    for &r in ranks2 {
        let r = r as usize;
        for s in (0..=reach).rev() {
            if counts[s] != 0 {
                counts[s + r] += counts[s];
            }
        }
        reach += r;
    }
    let obs = observed2 as usize;
    let le: u64 = counts[..=obs].iter().sum();
    let ge: u64 = counts[obs..].iter().sum();
    let all = 2f64.powi(ranks2.len() as i32);
    (2.0 * le.min(ge) as f64 / all).min(1.0)
}

// ---------------------------------------------------------------------------------------------
// Clustered standard errors
// ---------------------------------------------------------------------------------------------

/// A mean with a cluster-robust standard error and its normal confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusteredMean {
    pub mean: f64,
    pub se: f64,
    /// Distinct clusters (cases).
    pub clusters: usize,
    /// `mean ± z·se`.
    pub interval: Interval,
}

/// The cluster-robust standard error of a mean: `√(Σ_c (Σ_{i∈c} (x_i − x̄))²) / N`, with `N`
/// all observations and `c` ranging over clusters (Miller 2024, "Adding Error Bars to Evals",
/// eq. for clustered standard errors; the "CR0" sandwich estimator of a mean).
///
/// Why: with `--repeat K` each case is sampled K times and the K outcomes share the case's
/// difficulty, so they are not independent; treating `N = cases × K` observations as
/// independent understates the SE (by up to √K when repeats agree). Summing residuals within
/// a case before squaring counts each case's information once. With one observation per
/// cluster it reduces to the plain `√(Σ(x_i − x̄)²)/N` (population variance, no `N − 1`), and
/// no small-sample factor `G/(G − 1)` is applied (Miller doesn't; Stata's default does).
///
/// Use it for the mean paired delta (values = per-(case, repeat) score deltas) and for the
/// pass-rate delta (values = candidate pass − baseline pass ∈ {−1, 0, 1} per (case, repeat)).
/// `clusters[i]` is the cluster (case index) of `values[i]`; indices need not be contiguous.
/// Empty input gives NaN.
///
/// # Panics
/// If `values` and `clusters` differ in length.
pub fn clustered_mean_se(values: &[f64], clusters: &[usize]) -> f64 {
    clustered_parts(values, clusters).1
}

/// [`clustered_mean_se`] with the mean and a normal confidence interval `mean ± z·se`
/// (normal rather than t because the number of cases is the golden-set size, usually large;
/// for a handful of cases the interval is optimistic).
///
/// # Panics
/// If the lengths differ or `confidence` is not in (0, 1).
pub fn clustered_mean(values: &[f64], clusters: &[usize], confidence: f64) -> ClusteredMean {
    let z = z_two_sided(confidence);
    let (mean, se, g) = clustered_parts(values, clusters);
    ClusteredMean {
        mean,
        se,
        clusters: g,
        interval: Interval {
            low: mean - z * se,
            high: mean + z * se,
        },
    }
}

fn clustered_parts(values: &[f64], clusters: &[usize]) -> (f64, f64, usize) {
    assert_eq!(
        values.len(),
        clusters.len(),
        "values and clusters must have the same length"
    );
    if values.is_empty() {
        return (f64::NAN, f64::NAN, 0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    // Dense cluster slots in order of first appearance, so the summation order (and hence
    // the last bits) does not depend on hashing.
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut sums: Vec<f64> = Vec::new();
    for (&x, &c) in values.iter().zip(clusters) {
        let k = *slot.entry(c).or_insert_with(|| {
            sums.push(0.0);
            sums.len() - 1
        });
        sums[k] += x - mean;
    }
    let ss: f64 = sums.iter().map(|s| s * s).sum();
    (mean, ss.sqrt() / n, sums.len())
}

// ---------------------------------------------------------------------------------------------
// Rates with repeats: the effective sample size
// ---------------------------------------------------------------------------------------------

/// How much independent information clustered observations carry: `samples` observations
/// in `clusters` clusters (cases) are worth `n_eff` independent ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectiveSize {
    pub samples: usize,
    pub clusters: usize,
    /// Kish's design effect `samples / n_eff`: 1 when repeats are independent, the number of
    /// repeats per case when they always agree.
    pub design_effect: f64,
    pub n_eff: f64,
}

/// The effective sample size of the mean of integer-valued observations (pass = 1 /
/// fail = 0, or paired pass-rate deltas −1 / 0 / +1) clustered by case: `n_eff = N / deff`
/// with Kish's (1965) design effect `deff = Var_clustered(x̄) / Var_independent(x̄)`, the
/// case-clustered (CR0, [`clustered_mean_se`]) variance of the mean over the variance the
/// same `N` observations would have if independent:
///
/// `deff = Σ_c (Σ_{i∈c} (x_i − x̄))² / Σ_i (x_i − x̄)²`.
///
/// For equal cluster sizes `K` this is the moment estimate of `1 + (K − 1)·ρ` with `ρ` the
/// intra-case correlation; by Cauchy–Schwarz it never exceeds the largest cluster, so `n_eff`
/// lies in `[N / K_max, N]` (`[cases, samples]` with equal repeats). Repeats that always agree
/// give `deff = K` and `n_eff` = the number of cases: identical repeats carry no more
/// information than one run, and a rate judged on them gets exactly the repeat-1 interval.
/// Independent repeats give `deff ≈ 1` and count in full.
///
/// Edge cases, both resolved conservatively within that range:
/// - no variation at all (every observation equal, e.g. every sample passed): the data
///   cannot tell how alike repeats are, so they are assumed identical: `n_eff` = the number
///   of clusters (an all-pass run at `--repeat 5` is judged as the same run at `--repeat 1`);
/// - no variation *between* clusters but some within (every case has the same mean, e.g.
///   each passed 4 of 5 repeats): `deff` would be 0; it is floored at 1, `n_eff = N`
///   (repeats never count for more than independent samples).
///
/// Sums are exact integers (`i128`), so `n_eff` is exactly the number of cases whenever the
/// ratio is an integer, as for identical repeats; a (practically unreachable) overflow falls
/// back to floating point. Empty input gives `n_eff = 0`.
///
/// # Panics
/// If `values` and `clusters` differ in length.
pub fn effective_sample_size(values: &[i64], clusters: &[usize]) -> EffectiveSize {
    assert_eq!(
        values.len(),
        clusters.len(),
        "values and clusters must have the same length"
    );
    let samples = values.len();
    // Dense cluster slots in order of first appearance: (sum, count).
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut sums: Vec<(i128, i128)> = Vec::new();
    for (&x, &c) in values.iter().zip(clusters) {
        let k = *slot.entry(c).or_insert_with(|| {
            sums.push((0, 0));
            sums.len() - 1
        });
        sums[k].0 += i128::from(x);
        sums[k].1 += 1;
    }
    let groups = sums.len();
    let size = |n_eff: f64| EffectiveSize {
        samples,
        clusters: groups,
        design_effect: if n_eff > 0.0 {
            samples as f64 / n_eff
        } else {
            f64::NAN
        },
        n_eff,
    };
    if samples == 0 {
        return size(0.0);
    }
    let largest = sums.iter().map(|s| s.1).max().unwrap_or(1) as f64;
    let n = samples as f64;
    // The ratio scaled by N² (residuals N·x_i − S) so every term is an integer.
    let exact = || -> Option<(i128, i128)> {
        let big_n = i128::try_from(samples).ok()?;
        let total: i128 = sums.iter().map(|s| s.0).sum();
        let mut within: i128 = 0;
        for &x in values {
            let r = big_n.checked_mul(i128::from(x))? - total;
            within = within.checked_add(r.checked_mul(r)?)?;
        }
        let mut between: i128 = 0;
        for &(sum, count) in &sums {
            let r = big_n.checked_mul(sum)? - count.checked_mul(total)?;
            between = between.checked_add(r.checked_mul(r)?)?;
        }
        Some((big_n.checked_mul(within)?, between))
    };
    let n_eff = match exact() {
        Some((0, _)) => groups as f64,
        Some((_, 0)) => n,
        Some((num, den)) if num % den == 0 => (num / den) as f64,
        Some((num, den)) => num as f64 / den as f64,
        None => {
            let mean = values.iter().map(|&x| x as f64).sum::<f64>() / n;
            let within: f64 = values.iter().map(|&x| (x as f64 - mean).powi(2)).sum();
            let between: f64 = sums
                .iter()
                .map(|&(sum, count)| (sum as f64 - count as f64 * mean).powi(2))
                .sum();
            if within == 0.0 {
                groups as f64
            } else if between == 0.0 {
                n
            } else {
                n * within / between
            }
        }
    };
    size(n_eff.clamp(n / largest, n))
}

/// A pass rate with repeats, and its interval on the effective sample size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusteredProportion {
    /// Passes over all samples.
    pub p: f64,
    pub effective: EffectiveSize,
    pub interval: Interval,
}

/// The confidence interval of a pass rate whose samples are clustered by case (`--repeat
/// K`): the Wilson interval at the observed rate on the effective sample size of
/// [`effective_sample_size`] — Rao & Scott's (1992, Biometrics 48:577) adjustment for
/// clustered binary data (divide count and sample size by the design effect, then apply the
/// binomial method), with Kish's design effect.
///
/// Why: the K repeats of one case share its difficulty, and a deterministic model answers
/// them identically, so Wilson on all `cases × K` samples would narrow the interval by about
/// √K for nothing — 20 passing cases would clear `min = 0.9, confidence = 0.95` at
/// `--repeat 5` (lower end 0.963 on 100 "samples") but not at `--repeat 1` (0.839). Here
/// identical repeats give exactly the repeat-1 interval, independent repeats of flaky cases
/// count nearly in full, and with one sample per case this is exactly [`wilson`].
///
/// Empty input gives `p = NaN` and `[0, 1]`.
///
/// # Panics
/// If the lengths differ or `confidence` is not in (0, 1).
pub fn clustered_wilson(
    passes: &[bool],
    clusters: &[usize],
    confidence: f64,
) -> ClusteredProportion {
    check_confidence(confidence);
    let values: Vec<i64> = passes.iter().map(|&p| i64::from(p)).collect();
    let effective = effective_sample_size(&values, clusters);
    let successes = values.iter().sum::<i64>() as f64;
    let p = successes / passes.len() as f64;
    let interval = if passes.is_empty() {
        Interval {
            low: 0.0,
            high: 1.0,
        }
    } else {
        wilson_effective(p, effective.n_eff, confidence)
    };
    ClusteredProportion {
        p,
        effective,
        interval,
    }
}

/// The confidence interval of a paired pass-rate difference whose pairs are clustered by
/// case (`--repeat K`): [`newcombe_paired_diff`] on the table of effective counts
/// `(a, b, c, d) / deff`, with `deff` the design effect of the per-pair deltas
/// `cand − base ∈ {−1, 0, 1}` ([`effective_sample_size`]) — the Rao–Scott adjustment applied to
/// Newcombe's paired interval, as [`clustered_wilson`] applies it to Wilson's.
///
/// Identical repeats give exactly the repeat-1 interval, flips or not; in particular a slice
/// with no flip (no variation) is judged on `n` = its cases and gets Newcombe's zero-flip
/// interval (`±z²/(n + z²)` when everything passes), never a zero-width `[0, 0]`. With one pair
/// per case this is exactly [`newcombe_paired_diff`].
///
/// `pairs[i]` is `(baseline passed, candidate passed)`, `clusters[i]` its case.
///
/// # Panics
/// If the lengths differ or `confidence` is not in (0, 1).
pub fn clustered_paired_diff(
    pairs: &[(bool, bool)],
    clusters: &[usize],
    confidence: f64,
) -> (Interval, EffectiveSize) {
    check_confidence(confidence);
    let deltas: Vec<i64> = pairs
        .iter()
        .map(|&(base, cand)| i64::from(cand) - i64::from(base))
        .collect();
    let effective = effective_sample_size(&deltas, clusters);
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for pair in pairs {
        match *pair {
            (true, true) => a += 1,
            (true, false) => b += 1,
            (false, true) => c += 1,
            (false, false) => d += 1,
        }
    }
    if pairs.is_empty() {
        return (
            Interval {
                low: -1.0,
                high: 1.0,
            },
            effective,
        );
    }
    let deff = effective.design_effect;
    let interval = newcombe_paired_diff_effective(
        a as f64 / deff,
        b as f64 / deff,
        c as f64 / deff,
        d as f64 / deff,
        confidence,
    );
    (interval, effective)
}

// ---------------------------------------------------------------------------------------------
// Minimum detectable effect
// ---------------------------------------------------------------------------------------------

/// The smallest pass-rate drop (as a positive fraction) that a paired golden set of `n` cases
/// detects with McNemar's test at two-sided `alpha` and the given `power`, from Connor's
/// (1987) sample-size formula for paired proportions,
/// `n = [z_{1−α/2}·√ψ + z_{power}·√(ψ − δ²)]² / δ²`, solved for `δ`, where `ψ` is the
/// discordant rate (share of cases that flip either way) and `δ` the difference.
///
/// Why: a release manager needs to know when a "not significant" verdict only means "this
/// golden set cannot see a drop that small". The closed form (the larger root of the squared
/// equation) is `δ = k·√ψ` with
/// `k = [√n·z_α + z_β·√(n − z_α² + z_β²)] / (n + z_β²)`.
///
/// Floor: a drop of `δ` forces at least `δ` of the cases to be discordant, so the discordant
/// rate used is `max(ψ, δ)`; the fixed point with `ψ = δ` is `δ = k²`, hence the result is
/// `k·max(√ψ, k)`. This also answers the `ψ = 0` case (an identical candidate): the floor `k²`
/// is the drop detectable when every flip is a regression — the most favourable case, so the
/// set cannot detect anything smaller. Results are capped at 1; a set too small to detect even
/// a 100 % drop (`n < z_α²`, i.e. up to 3 cases at α = 0.05) gives 1.
///
/// # Panics
/// If `alpha` is not in (0, 1), `power` not in [0.5, 1), or `discordant_rate` not in [0, 1].
pub fn min_detectable_drop(n: u64, discordant_rate: f64, alpha: f64, power: f64) -> f64 {
    assert!(alpha > 0.0 && alpha < 1.0, "alpha must be in (0, 1)");
    assert!(
        (0.5..1.0).contains(&power),
        "power must be in [0.5, 1), got {power}"
    );
    assert!(
        (0.0..=1.0).contains(&discordant_rate),
        "discordant_rate must be in [0, 1]"
    );
    let z_a = z_two_sided(1.0 - alpha);
    let z_b = Normal::standard().inverse_cdf(power);
    let nf = n as f64;
    let disc = nf - z_a * z_a + z_b * z_b;
    if n == 0 || disc < 0.0 {
        return 1.0;
    }
    let k = (nf.sqrt() * z_a + z_b * disc.sqrt()) / (nf + z_b * z_b);
    (k * discordant_rate.sqrt().max(k)).min(1.0)
}

// ---------------------------------------------------------------------------------------------
// Holm–Bonferroni
// ---------------------------------------------------------------------------------------------

/// Holm–Bonferroni adjusted p-values, in the input order.
///
/// Why: testing ten tags at alpha = 0.05 would give about a 40 % chance of at least one false
/// alarm; Holm controls the family-wise error rate like Bonferroni but is uniformly more
/// powerful. Sorted ascending, `p_(i)` becomes `max_{j ≤ i} min(1, (m − j + 1)·p_(j))`, so the
/// adjusted values are monotone in the raw ones and capped at 1 (statsmodels
/// `multipletests(method="holm")`). Reject slice `i` when its adjusted p is below alpha.
/// NaN inputs are treated as 1 (never significant).
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let clean: Vec<f64> = p_values
        .iter()
        .map(|p| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| clean[i].total_cmp(&clean[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * clean[i]).min(1.0);
        running = running.max(scaled);
        adjusted[i] = running;
    }
    adjusted
}

// ---------------------------------------------------------------------------------------------
// Judge accuracy
// ---------------------------------------------------------------------------------------------

/// A judge's verdicts against human labels, as a 2×2 table of counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Judge pass, human pass.
    pub true_positive: u64,
    /// Judge pass, human fail.
    pub false_positive: u64,
    /// Judge fail, human pass.
    pub false_negative: u64,
    /// Judge fail, human fail.
    pub true_negative: u64,
}

impl Agreement {
    pub fn add(&mut self, judge_passed: bool, human_passed: bool) {
        match (judge_passed, human_passed) {
            (true, true) => self.true_positive += 1,
            (true, false) => self.false_positive += 1,
            (false, true) => self.false_negative += 1,
            (false, false) => self.true_negative += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.true_positive + self.false_positive + self.false_negative + self.true_negative
    }

    /// P(judge pass | human pass); None without a human pass.
    pub fn true_positive_rate(&self) -> Option<f64> {
        let n = self.true_positive + self.false_negative;
        (n > 0).then(|| self.true_positive as f64 / n as f64)
    }

    /// P(judge fail | human fail); None without a human fail.
    pub fn true_negative_rate(&self) -> Option<f64> {
        let n = self.true_negative + self.false_positive;
        (n > 0).then(|| self.true_negative as f64 / n as f64)
    }

    /// Cohen's kappa, `(p_o − p_e)/(1 − p_e)` with `p_o` the observed agreement and `p_e`
    /// the agreement expected from the two marginals (what `sklearn.metrics.cohen_kappa_score`
    /// computes). None when there is nothing to measure: no labelled sample, or `p_e = 1`
    /// (judge and humans each used one and the same category, so agreement is not evidence).
    pub fn kappa(&self) -> Option<f64> {
        let n = self.total() as f64;
        if n == 0.0 {
            return None;
        }
        let (a, b, c, d) = (
            self.true_positive as f64,
            self.false_positive as f64,
            self.false_negative as f64,
            self.true_negative as f64,
        );
        let observed = (a + d) / n;
        let expected = ((a + b) * (a + c) + (c + d) * (b + d)) / (n * n);
        (expected < 1.0).then(|| (observed - expected) / (1.0 - expected))
    }
}

/// The Rogan–Gladen (1978) correction of an observed pass rate for a judge with the given
/// true-positive and true-negative rates: `(p + TNR − 1)/(TPR + TNR − 1)`, clamped to [0, 1].
/// None when `TPR + TNR ≤ 1` (the judge is no better than chance, and the correction is
/// undefined or reverses the scale).
pub fn rogan_gladen(observed: f64, tpr: f64, tnr: f64) -> Option<f64> {
    let youden = tpr + tnr - 1.0;
    (youden > 0.0 && observed.is_finite())
        .then(|| ((observed + tnr - 1.0) / youden).clamp(0.0, 1.0))
}

/// The Rogan–Gladen correction applied to both ends of an interval of the observed rate
/// (the correction is increasing when defined, so the ends stay in order). This treats TPR
/// and TNR as known: it ignores their own sampling uncertainty, so with few labels the true
/// interval is wider.
pub fn rogan_gladen_interval(observed: Interval, tpr: f64, tnr: f64) -> Option<Interval> {
    Some(Interval {
        low: rogan_gladen(observed.low, tpr, tnr)?,
        high: rogan_gladen(observed.high, tpr, tnr)?,
    })
}

#[cfg(test)]
mod tests {
    //! Reference numbers are copied from `tests/stats_reference/reference_output.txt`
    //! (produced by `reference.py` beside it with SciPy 1.17.1 / statsmodels 0.15.0).

    use super::*;

    /// (deltas, resamples, seed, confidence, mean, low, high).
    type BootCase = (Vec<f64>, u32, u64, f64, f64, f64, f64);
    /// (name, values, clusters, mean, se).
    type ClusterCase = (&'static str, Vec<f64>, Vec<usize>, f64, f64);
    /// (name, per-case outcomes, confidence, n_eff, low, high).
    type ProportionCase = (&'static str, Vec<Vec<bool>>, f64, f64, f64, f64);
    /// (name, per-case (baseline, candidate) outcomes, n_eff, low, high).
    type PairedCase = (&'static str, Vec<Vec<(bool, bool)>>, f64, f64, f64);

    /// `|actual − expected| ≤ rel·|expected| + abs`.
    #[track_caller]
    fn close(actual: f64, expected: f64, rel: f64, abs: f64) {
        assert!(
            (actual - expected).abs() <= rel * expected.abs() + abs,
            "actual {actual:e} expected {expected:e} (rel {rel:e}, abs {abs:e})"
        );
    }

    /// Same generators as `reference.py`: 53 random bits scaled to [0, 1), minus 0.4.
    fn gen_continuous(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0) - 0.4)
            .collect()
    }

    /// Integers in [−m, m] as floats: many ties and zeros.
    fn gen_discrete(seed: u64, n: usize, m: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| (rng.next_u64() % (2 * m + 1)) as f64 - m as f64)
            .collect()
    }

    #[test]
    fn generators_match_the_python_reimplementation() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220a8397b1dcdaf);
        assert_eq!(rng.next_u64(), 0x6e789e6aa1b965f4);
        assert_eq!(rng.next_u64(), 0x6c45d188009454f);
        assert_eq!(
            gen_continuous(1, 3),
            [0.16656157517228087, 0.3457817572627011, 0.5710027535867962]
        );
        assert_eq!(gen_discrete(2, 6, 3), [1.0, -3.0, -3.0, -2.0, 0.0, -1.0]);
    }

    // ----- McNemar ------------------------------------------------------------------------

    /// (b, c, p_exact, mid_p) from statsmodels `mcnemar(exact=True)`, scipy `binomtest` and
    /// scipy `binom` (they agree to 1e-12).
    const MCNEMAR: &[(u64, u64, f64, f64)] = &[
        (0, 0, 1.0, 1.0),
        (1, 0, 1.0, 0.4999999999999999),
        (0, 1, 1.0, 0.4999999999999999),
        (2, 2, 1.0, 1.0),
        (3, 0, 0.25, 0.125),
        (5, 1, 0.21875, 0.12499999999999997),
        (1, 5, 0.21875, 0.12499999999999997),
        (6, 0, 0.03125, 0.015624999999999879),
        (10, 3, 0.09228515625, 0.05737304687500002),
        (30, 45, 0.10534226887460482, 0.08464609267083582),
        (45, 30, 0.10534226887460482, 0.08464609267083582),
        (0, 20, 1.9073486328125e-06, 9.536743164062494e-07),
        (12, 0, 0.00048828125, 0.0002441406249999999),
        (200, 260, 0.0058839224731039984, 0.005142986302422611),
        (1000, 0, 1.8665272370064378e-301, 9.332636185032603e-302),
        (75500, 74500, 0.009896780843776999, 0.009823288116728572),
        (74000, 76000, 2.45019035110394e-07, 2.416834837060515e-07),
        (
            100800,
            99200,
            0.00034957220177700237,
            0.00034660788859126136,
        ),
        (150000, 0, 0.0, 0.0),
        (100010, 99990, 0.9661118508749451, 0.9643295122101597),
        (74999, 75001, 0.9979398743560874, 0.9958797761801517),
    ];

    #[test]
    fn mcnemar_matches_scipy_and_statsmodels() {
        for &(b, c, p, mid) in MCNEMAR {
            let m = mcnemar_exact(b, c);
            assert_eq!((m.b, m.c), (b, c));
            // Exact quantities: 1e-9 relative (the mid-p of tiny n differs from SciPy's only
            // in SciPy's own last-bit rounding, e.g. 0.4999999999999999 vs 0.5).
            close(m.p_value, p, 1e-9, 1e-300);
            close(m.mid_p_value, mid, 1e-9, 1e-300);
            assert!(m.mid_p_value <= m.p_value);
        }
    }

    #[test]
    fn mcnemar_zero_flips_and_direction() {
        let none = mcnemar_exact(0, 0);
        assert_eq!((none.p_value, none.mid_p_value), (1.0, 1.0));
        assert!(!none.significantly_worse(0.05));
        assert!(mcnemar_exact(12, 0).significantly_worse(0.05));
        // As significant, but an improvement, not a regression.
        assert!(!mcnemar_exact(0, 12).significantly_worse(0.05));
        assert!(!mcnemar_exact(30, 45).significantly_worse(0.05));
    }

    #[test]
    fn mcnemar_handles_200k_discordant_pairs() {
        for (b, c) in [
            (100_000, 100_000),
            (99_000, 101_000),
            (0, 200_000),
            (1, 199_999),
        ] {
            let m = mcnemar_exact(b, c);
            assert!(m.p_value.is_finite() && (0.0..=1.0).contains(&m.p_value));
            assert!(m.mid_p_value.is_finite() && (0.0..=m.p_value).contains(&m.mid_p_value));
        }
        assert_eq!(mcnemar_exact(100_000, 100_000).p_value, 1.0);
    }

    #[test]
    fn binomial_pmf_agrees_with_statrs_where_statrs_is_accurate() {
        use statrs::distribution::{Binomial, Discrete};
        for n in [1u64, 2, 5, 15, 16, 17, 35, 36, 80, 81, 200, 501, 1000] {
            let reference = Binomial::new(0.5, n).unwrap();
            for k in 0..=n.min(60) {
                close(binom_half_pmf(k, n), reference.pmf(k), 1e-11, 1e-300);
            }
        }
        // The pmf sums to 1, through the same tail recurrence the test uses.
        let (cdf, _) = binom_half_lower_tail(499, 1000);
        close(2.0 * cdf + binom_half_pmf(500, 1000), 1.0, 1e-13, 0.0);
    }

    // ----- Wilson and Newcombe -----------------------------------------------------------------

    /// (successes, n, confidence, low, high) from statsmodels `proportion_confint("wilson")`.
    const WILSON: &[(u64, u64, f64, f64, f64)] = &[
        (0, 1, 0.95, 0.0, 0.7934506856227626),
        (1, 1, 0.95, 0.20654931437723745, 1.0),
        (0, 10, 0.95, 0.0, 0.2775327998628892),
        (10, 10, 0.95, 0.7224672001371107, 0.9999999999999999),
        (44, 44, 0.95, 0.9197043962415192, 1.0),
        (19, 20, 0.95, 0.763868806553258, 0.9911185511992047),
        (7, 13, 0.95, 0.29143795714506004, 0.7679393219046169),
        (950, 1000, 0.95, 0.9346861797557492, 0.9618697376072513),
        (
            1,
            100000,
            0.95,
            1.7652477303783126e-06,
            5.664709659040966e-05,
        ),
        (19, 20, 0.9, 0.8039927632259835, 0.9887651831491483),
        (19, 20, 0.99, 0.6817028880857628, 0.9941022509253589),
        (50, 100, 0.95, 0.4038315303659956, 0.5961684696340044),
    ];

    #[test]
    fn wilson_matches_statsmodels() {
        for &(x, n, conf, low, high) in WILSON {
            let ci = wilson(x, n, conf);
            // A closed form: only the normal quantile's last bits may differ.
            close(ci.low, low, 1e-12, 1e-15);
            close(ci.high, high, 1e-12, 1e-15);
        }
        // Pinned exactly at the ends.
        assert_eq!(wilson(10, 10, 0.95).high, 1.0);
        assert_eq!(wilson(0, 10, 0.95).low, 0.0);
        assert_eq!(
            wilson(0, 0, 0.95),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
    }

    /// (a, b, c, d, confidence, low, high): `reference.py`'s independent implementation of
    /// Newcombe's method 10 (paper notation, statsmodels Wilson limits).
    const NEWCOMBE: &[(u64, u64, u64, u64, f64, f64, f64)] = &[
        (
            59,
            16,
            6,
            80,
            0.95,
            -0.11862119563870992,
            -0.004625113933050061,
        ),
        (1, 0, 0, 0, 0.95, -0.7934506856227626, 0.7934506856227626),
        (0, 1, 0, 0, 0.95, -1.0, 0.12210872068194178),
        (0, 0, 1, 0, 0.95, -0.12210872068194178, 1.0),
        (0, 0, 0, 1, 0.95, -0.7934506856227626, 0.7934506856227626),
        (44, 0, 0, 0, 0.95, -0.08029560375848077, 0.08029560375848077),
        (40, 0, 0, 4, 0.95, -0.07836400616627975, 0.07836400616627975),
        (
            22,
            0,
            0,
            22,
            0.95,
            -0.042718849298875226,
            0.042718849298875226,
        ),
        (0, 0, 0, 10, 0.95, -0.2775327998628892, 0.2775327998628892),
        (
            900,
            30,
            45,
            25,
            0.95,
            -0.0021677552448816084,
            0.03253856637842847,
        ),
        (
            900,
            45,
            30,
            25,
            0.95,
            -0.03253856637842847,
            0.0021677552448816084,
        ),
        (0, 5, 5, 0, 0.95, -0.526813818974872, 0.526813818974872),
        (10, 3, 0, 2, 0.95, -0.43424663322872925, 0.04965075271775285),
        (
            100000,
            750,
            600,
            3000,
            0.95,
            -0.0021295900912587148,
            -0.0007472875450470624,
        ),
        (30, 4, 1, 5, 0.9, -0.18037829572027983, 0.026522477935654848),
        (30, 4, 1, 5, 0.99, -0.2464987411330942, 0.09055948629539323),
        (2, 0, 0, 3, 0.95, -0.30732310919421185, 0.30732310919421185),
    ];

    #[test]
    fn newcombe_matches_independent_reference() {
        for &(a, b, c, d, conf, low, high) in NEWCOMBE {
            let ci = newcombe_paired_diff(a, b, c, d, conf);
            close(ci.low, low, 1e-10, 1e-13);
            close(ci.high, high, 1e-10, 1e-13);
            let estimate = (c as f64 - b as f64) / (a + b + c + d) as f64;
            assert!(
                ci.contains(estimate),
                "{a} {b} {c} {d}: {ci:?} misses {estimate}"
            );
        }
    }

    #[test]
    fn newcombe_reproduces_the_published_worked_example() {
        // Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012): first = (59, 6 / 16,
        // 80), estimate −0.0621, 95% CI −0.1186 to −0.0046 (4 decimals). In this API "first"
        // is the candidate, so its 6 first-pass/second-fail pairs are improvements (c).
        let ci = newcombe_paired_diff(59, 16, 6, 80, 0.95);
        close(ci.low, -0.1186, 0.0, 5e-5);
        close(ci.high, -0.0046, 0.0, 5e-5);
    }

    #[test]
    fn newcombe_edge_cases() {
        assert_eq!(
            newcombe_paired_diff(0, 0, 0, 0, 0.95),
            Interval {
                low: -1.0,
                high: 1.0
            }
        );
        // Mirror symmetry: swapping regressions and improvements mirrors the interval.
        let x = newcombe_paired_diff(900, 30, 45, 25, 0.95);
        let y = newcombe_paired_diff(900, 45, 30, 25, 0.95);
        assert!((x.low + y.high).abs() < 1e-15 && (x.high + y.low).abs() < 1e-15);
        // The issue's example: 44 cases, zero flips → about −0.08.
        close(
            zero_flip_lower_bound(44, 44, 0.95),
            -0.08029560375848077,
            1e-12,
            0.0,
        );
        assert!(margin_unreachable(44, 44, 0.05, 0.95));
        assert!(!margin_unreachable(44, 44, 0.081, 0.95));
        assert!(!margin_unreachable(2000, 2000, 0.01, 0.95));
    }

    // ----- Bootstrap ---------------------------------------------------------------------

    /// (deltas, resamples, seed, confidence, mean, low, high) from the bit-exact Python
    /// re-implementation; compared with `==`.
    #[test]
    fn bootstrap_matches_python_bit_for_bit() {
        let cases: [BootCase; 4] = [
            (
                gen_continuous(41, 25),
                2000,
                42,
                0.95,
                0.04013461445716291,
                -0.06470953688645147,
                0.1584925944521664,
            ),
            (
                gen_discrete(42, 7, 2),
                999,
                7,
                0.90,
                -0.14285714285714285,
                -1.0,
                0.7142857142857143,
            ),
            (
                gen_continuous(43, 1000),
                2000,
                2024,
                0.95,
                0.08970872839183411,
                0.07316065424526022,
                0.10647898095509441,
            ),
            (vec![0.75], 100, 1, 0.95, 0.75, 0.75, 0.75),
        ];
        for (deltas, resamples, seed, conf, mean, low, high) in cases {
            let boot = paired_bootstrap_mean(&deltas, resamples, seed, conf);
            assert_eq!((boot.resamples, boot.seed), (resamples, seed));
            assert_eq!(boot.mean, mean);
            assert_eq!(boot.interval, Interval { low, high });
        }
    }

    #[test]
    fn bootstrap_is_deterministic_and_thread_independent() {
        let deltas = gen_continuous(5, 3000);
        let one = bootstrap_means(&deltas, 1000, 99, 1);
        let three = bootstrap_means(&deltas, 1000, 99, 3);
        assert_eq!(one, three);
        let a = paired_bootstrap_mean(&deltas, 1000, 99, 0.95);
        let b = paired_bootstrap_mean(&deltas, 1000, 99, 0.95);
        assert_eq!(a, b);
        let other_seed = paired_bootstrap_mean(&deltas, 1000, 100, 0.95);
        assert_ne!(a.interval, other_seed.interval);
        assert!(a.interval.contains(a.mean));
        assert!(a.interval.low < a.interval.high);
    }

    #[test]
    fn bootstrap_constant_and_degenerate_inputs() {
        let constant = paired_bootstrap_mean(&[0.1; 37], 500, 3, 0.95);
        assert_eq!(constant.interval.low, constant.interval.high);
        assert_eq!(constant.interval.low, constant.mean);
        let zeros = paired_bootstrap_mean(&[0.0; 10], 500, 3, 0.95);
        assert_eq!(
            (zeros.mean, zeros.interval.low, zeros.interval.high),
            (0.0, 0.0, 0.0)
        );
        let empty = paired_bootstrap_mean(&[], 500, 3, 0.95);
        assert!(empty.mean.is_nan() && empty.interval.low.is_nan());
        let nan = paired_bootstrap_mean(&[1.0, f64::NAN], 500, 3, 0.95);
        assert!(nan.mean.is_nan() && nan.interval.high.is_nan());
        let none = paired_bootstrap_mean(&[1.0, 2.0], 0, 3, 0.95);
        assert_eq!(none.mean, 1.5);
        assert!(none.interval.low.is_nan());
    }

    #[test]
    fn fast_counting_path_draws_exactly_the_sampler_indices() {
        // 3,000,000 cases: 2^32 mod n = 1,967,296, so ~1,400 rejections per resample exercise
        // the hand-over to the sampler mid-stream; odd sizes exercise the tail.
        for (n, seed) in [(3_000_000usize, 5u64), (1, 1), (2, 2), (3, 3), (1001, 4)] {
            let mut fast = vec![0u8; n];
            fill_counts(seed, &mut fast);
            let mut reference = vec![0u32; n];
            let mut sampler = IndexSampler::new(seed, n as u32);
            for _ in 0..n {
                reference[sampler.index()] += 1;
            }
            assert!(
                fast.iter()
                    .zip(&reference)
                    .all(|(f, r)| u32::from(*f) == *r),
                "n = {n}"
            );
        }
    }

    #[test]
    fn wrapped_byte_counter_falls_back_to_wide_counts() {
        // Force the fallback by handing in a dirty scratch table (255 everywhere wraps on the
        // first hit): the result must equal a clean run's.
        let deltas = gen_continuous(8, 300);
        let mut clean = vec![0u8; 300];
        let expected = resample_mean(&deltas, 77, &mut clean);
        let mut dirty = vec![255u8; 300];
        let got = resample_mean(&deltas, 77, &mut dirty);
        assert_eq!(got, expected);
    }

    #[test]
    fn adaptive_resamples_respects_budget_and_floor() {
        assert_eq!(adaptive_resamples(100_000, 10_000, 2_000_000_000), 10_000);
        assert_eq!(adaptive_resamples(100_000, 10_000, 300_000_000), 3_000);
        assert_eq!(adaptive_resamples(100_000_000, 10_000, 300_000_000), 2_000);
        assert_eq!(adaptive_resamples(100_000_000, 500, 1), 500);
        assert_eq!(adaptive_resamples(0, 10_000, 1), 10_000);
    }

    #[test]
    fn index_sampler_is_unbiased_enough_and_in_range() {
        let n = 7u32;
        let mut sampler = IndexSampler::new(123, n);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[sampler.index()] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    /// Run by hand: `cargo test --release --lib stats::tests::bootstrap_timing -- --ignored
    /// --nocapture`. Not a timed assertion: CI machines vary.
    #[test]
    #[ignore]
    fn bootstrap_timing_100k_by_10k() {
        let deltas = gen_continuous(7, 100_000);
        let start = std::time::Instant::now();
        let boot = paired_bootstrap_mean(&deltas, DEFAULT_RESAMPLES, 1, 0.95);
        let all = start.elapsed();
        let start = std::time::Instant::now();
        let single = bootstrap_means(&deltas, DEFAULT_RESAMPLES, 1, 1);
        let one = start.elapsed();
        assert_eq!(single.len(), DEFAULT_RESAMPLES as usize);
        let budget = adaptive_resamples(deltas.len(), DEFAULT_RESAMPLES, DEFAULT_MAX_DRAWS);
        let start = std::time::Instant::now();
        let cheap = paired_bootstrap_mean(&deltas, budget, 1, 0.95);
        let adaptive = start.elapsed();
        println!(
            "bootstrap 100,000 deltas x 10,000 resamples: {:.3} s on {} threads, {:.3} s on 1 \
             thread; mean {:.6}, CI [{:.6}, {:.6}]",
            all.as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |t| t.get()),
            one.as_secs_f64(),
            boot.mean,
            boot.interval.low,
            boot.interval.high
        );
        println!(
            "with adaptive_resamples(DEFAULT_MAX_DRAWS) = {budget} resamples: {:.3} s, CI \
             [{:.6}, {:.6}]",
            adaptive.as_secs_f64(),
            cheap.interval.low,
            cheap.interval.high
        );
    }

    // ----- Wilcoxon ----------------------------------------------------------------------

    /// (name, deltas, p_value, statistic, method) from `scipy.stats.wilcoxon(deltas)`.
    fn wilcoxon_cases() -> Vec<(&'static str, Vec<f64>, f64, f64, &'static str)> {
        vec![
            (
                "cont_10",
                gen_continuous(11, 10),
                0.556640625,
                21.0,
                "exact",
            ),
            (
                "cont_30",
                gen_continuous(12, 30),
                0.0061949919909238815,
                102.0,
                "exact",
            ),
            (
                "cont_50",
                gen_continuous(13, 50),
                0.00784436585604098,
                365.0,
                "exact",
            ),
            (
                "cont_51",
                gen_continuous(13, 51),
                0.005854891780602998,
                369.0,
                "asymptotic",
            ),
            (
                "cont_200",
                gen_continuous(14, 200),
                2.6568466693984087e-05,
                6607.0,
                "asymptotic",
            ),
            (
                "disc_10",
                gen_discrete(21, 10, 3),
                0.234375,
                14.5,
                "permutation",
            ),
            (
                "disc_13",
                gen_discrete(22, 13, 2),
                0.8828125,
                25.0,
                "permutation",
            ),
            (
                "disc_14",
                gen_discrete(22, 14, 2),
                0.7928489826282048,
                25.0,
                "asymptotic",
            ),
            (
                "disc_40",
                gen_discrete(23, 40, 4),
                0.6181023823124219,
                208.5,
                "asymptotic",
            ),
            (
                "disc_60",
                gen_discrete(24, 60, 5),
                0.41808851044719453,
                531.5,
                "asymptotic",
            ),
            ("one_pos", vec![2.5], 1.0, 0.0, "exact"),
            ("one_neg", vec![-0.3], 1.0, 0.0, "exact"),
            ("zero_and_one", vec![0.0, 1.0], 1.0, 0.0, "permutation"),
            ("equal_8", vec![0.5; 8], 0.0078125, 0.0, "permutation"),
            (
                "equal_20",
                vec![0.5; 20],
                7.74421643104407e-06,
                0.0,
                "asymptotic",
            ),
            (
                "signs_equal_abs_6",
                vec![0.5, -0.5, 0.5, 0.5, -0.5, 0.5],
                0.6875,
                7.0,
                "permutation",
            ),
            (
                "fixed_ties",
                vec![1.0, 2.0, 2.0, -3.0, 4.0, 4.0, 4.0, 5.0, -1.0, 6.0, 0.0, 7.0],
                0.0146484375,
                6.5,
                "permutation",
            ),
        ]
    }

    #[test]
    fn wilcoxon_matches_scipy_defaults() {
        for (name, deltas, p, statistic, method) in wilcoxon_cases() {
            let w = wilcoxon_signed_rank(&deltas);
            assert_eq!(w.method, method, "{name}");
            assert_eq!(w.statistic, statistic, "{name}");
            // Exact/permutation p-values are ratios of integer counts: 1e-12; the normal
            // approximation differs only by the normal cdf's last bits: 1e-9.
            let rel = if method == "asymptotic" { 1e-9 } else { 1e-12 };
            close(w.p_value, p, rel, 1e-300);
            assert_eq!(
                w.n_nonzero,
                deltas.iter().filter(|d| **d != 0.0).count(),
                "{name}"
            );
        }
    }

    #[test]
    fn wilcoxon_no_nonzero_delta_gives_one() {
        // SciPy: 1.0 for five zeros, NaN for twenty (and for empty input); here always 1.
        for deltas in [vec![], vec![0.0; 5], vec![0.0; 20]] {
            let w = wilcoxon_signed_rank(&deltas);
            assert_eq!((w.n_nonzero, w.p_value, w.method), (0, 1.0, "none"));
        }
        assert!(wilcoxon_signed_rank(&[1.0, f64::NAN]).p_value.is_nan());
    }

    // ----- Clustered SE ------------------------------------------------------------------

    #[test]
    fn clustered_se_matches_numpy_and_statsmodels_cr0() {
        let cont = gen_continuous(31, 30);
        let flips = gen_discrete(32, 24, 1);
        let cases: [ClusterCase; 5] = [
            (
                "cont_K3",
                cont.clone(),
                (0..30).map(|i| i / 3).collect(),
                0.06678551545967694,
                0.040722993822728815,
            ),
            (
                "cont_K1",
                cont,
                (0..30).collect(),
                0.06678551545967694,
                0.04908910173647107,
            ),
            (
                "flips_K4_sparse_ids",
                flips,
                (0..24).map(|i| 100 + 7 * (i / 4)).collect(),
                -0.125,
                0.09771699499632146,
            ),
            (
                "uneven",
                vec![1.0, 1.0, 1.0, 0.0, -1.0, 0.5, 0.5, 2.0],
                vec![0, 0, 0, 5, 5, 9, 9, 3],
                0.625,
                0.3597145135381668,
            ),
            ("constant", vec![0.25; 6], vec![0, 0, 1, 1, 2, 2], 0.25, 0.0),
        ];
        for (name, values, clusters, mean, se) in cases {
            let got = clustered_mean(&values, &clusters, 0.95);
            close(got.mean, mean, 1e-12, 1e-15);
            close(got.se, se, 1e-12, 1e-15);
            close(clustered_mean_se(&values, &clusters), se, 1e-12, 1e-15);
            let z = 1.959963984540054;
            close(got.interval.low, mean - z * se, 1e-12, 1e-15);
            close(got.interval.high, mean + z * se, 1e-12, 1e-15);
            assert!(got.clusters > 0, "{name}");
        }
        assert!(clustered_mean_se(&[], &[]).is_nan());
    }

    #[test]
    #[should_panic(expected = "same length")]
    fn clustered_rejects_mismatched_lengths() {
        clustered_mean_se(&[1.0, 2.0], &[0]);
    }

    // ----- Rates with repeats --------------------------------------------------------------

    /// One entry per case, its outcomes per repeat, flattened to (values, clusters).
    fn flatten<T: Copy>(per_case: &[Vec<T>]) -> (Vec<T>, Vec<usize>) {
        per_case
            .iter()
            .enumerate()
            .flat_map(|(case, outcomes)| outcomes.iter().map(move |o| (*o, case)))
            .unzip()
    }

    fn repeat_case<T: Clone>(outcomes: &[T], times: usize) -> Vec<Vec<T>> {
        vec![outcomes.to_vec(); times]
    }

    fn flaky_k4() -> Vec<Vec<bool>> {
        [
            [1, 1, 1, 1],
            [1, 0, 1, 1],
            [1, 1, 1, 1],
            [0, 0, 1, 0],
            [1, 1, 1, 1],
            [1, 1, 0, 1],
            [0, 0, 0, 0],
            [1, 1, 1, 1],
            [1, 0, 1, 0],
            [1, 1, 1, 1],
        ]
        .iter()
        .map(|r| r.iter().map(|&x| x == 1).collect())
        .collect()
    }

    /// (name, per-case outcomes, confidence, n_eff, low, high) from `reference.py`: Wilson
    /// (statsmodels) on the effective sample size, Kish's design effect from statsmodels'
    /// CR0 / HC0 variances.
    #[test]
    fn clustered_wilson_matches_statsmodels_on_the_effective_size() {
        let b = |v: &[u8]| v.iter().map(|&x| x == 1).collect::<Vec<bool>>();
        let mut nineteen = vec![b(&[0; 5])];
        nineteen.extend(repeat_case(&b(&[1; 5]), 19));
        let cases: Vec<ProportionCase> = vec![
            (
                "identical_all_pass_K5",
                repeat_case(&b(&[1; 5]), 20),
                0.95,
                20.0,
                0.8388748419471806,
                1.0,
            ),
            (
                "identical_19_of_20_K5",
                nineteen,
                0.95,
                20.0,
                0.763868806553258,
                0.9911185511992047,
            ),
            (
                "flaky_K4",
                flaky_k4(),
                0.95,
                16.87830687830688,
                0.48655046492415255,
                0.8800192253694157,
            ),
            (
                "flaky_K4_90",
                flaky_k4(),
                0.9,
                16.87830687830688,
                0.5250661213535004,
                0.8627655851966389,
            ),
            (
                "same_rate_every_case_K5",
                repeat_case(&b(&[1, 1, 1, 1, 0]), 8),
                0.95,
                40.0,
                0.652426936536005,
                0.895000102745623,
            ),
            (
                "uneven",
                vec![
                    b(&[1, 1, 1]),
                    b(&[0]),
                    b(&[1, 0]),
                    b(&[1, 1, 1, 1]),
                    b(&[0, 0]),
                ],
                0.95,
                6.260869565217392,
                0.3057718633032182,
                0.9008098713243704,
            ),
            (
                "one_repeat",
                [1, 0, 1, 1, 1, 0, 1].iter().map(|&x| b(&[x])).collect(),
                0.95,
                7.0,
                0.35893445183261935,
                0.9177810759959433,
            ),
        ];
        for (name, per_case, conf, n_eff, low, high) in cases {
            let (passes, clusters) = flatten(&per_case);
            let got = clustered_wilson(&passes, &clusters, conf);
            close(got.effective.n_eff, n_eff, 1e-12, 0.0);
            close(got.interval.low, low, 1e-12, 1e-15);
            close(got.interval.high, high, 1e-12, 1e-15);
            assert_eq!(got.effective.samples, passes.len(), "{name}");
            assert_eq!(got.effective.clusters, per_case.len(), "{name}");
            close(
                got.effective.design_effect * got.effective.n_eff,
                passes.len() as f64,
                1e-12,
                0.0,
            );
        }
    }

    /// Repeats that always agree are worth one sample per case: bit for bit the repeat-1
    /// Wilson interval, whatever the repeat count.
    #[test]
    fn identical_repeats_give_exactly_the_repeat_1_interval() {
        for (cases, passing) in [(20usize, 20usize), (20, 19), (44, 40), (7, 0), (1, 1)] {
            let one: Vec<bool> = (0..cases).map(|i| i < passing).collect();
            let expected = wilson(passing as u64, cases as u64, 0.95);
            for k in 1..=7 {
                let per_case: Vec<Vec<bool>> = one.iter().map(|&p| vec![p; k]).collect();
                let (passes, clusters) = flatten(&per_case);
                let got = clustered_wilson(&passes, &clusters, 0.95);
                assert_eq!(got.interval, expected, "{passing}/{cases} x {k}");
                assert_eq!(got.effective.n_eff, cases as f64);
                assert_eq!(got.effective.design_effect, k as f64);
            }
        }
        // The issue's numbers: 20 passing cases, at any repeat count, [0.839, 1].
        let low = wilson(20, 20, 0.95).low;
        assert!((0.8388..0.8389).contains(&low), "{low}");
        // Naive Wilson on the 100 samples of --repeat 5 would say 0.963.
        assert!(wilson(100, 100, 0.95).low > 0.96);
    }

    #[test]
    fn effective_size_stays_between_cases_and_samples() {
        // Independent-looking repeats count in full; agreeing ones as one per case.
        let within_only: Vec<i64> = vec![1, 0, 1, 0, 1, 0];
        let e = effective_sample_size(&within_only, &[0, 0, 1, 1, 2, 2]);
        assert_eq!((e.n_eff, e.design_effect, e.clusters), (6.0, 1.0, 3));
        let agreeing: Vec<i64> = vec![1, 1, 0, 0, 1, 1];
        let e = effective_sample_size(&agreeing, &[0, 0, 1, 1, 2, 2]);
        assert_eq!((e.n_eff, e.design_effect), (3.0, 2.0));
        // Nothing varies: assume the repeats agree (the conservative end).
        let e = effective_sample_size(&[0, 0, 0, 0], &[5, 5, 9, 9]);
        assert_eq!((e.n_eff, e.clusters), (2.0, 2));
        // Sparse cluster ids and deltas in {-1, 0, 1}.
        let e = effective_sample_size(&[-1, -1, 0, 0, 1, 0], &[40, 40, 7, 7, 3, 3]);
        assert!(e.n_eff >= 3.0 && e.n_eff <= 6.0, "{e:?}");
        let empty = effective_sample_size(&[], &[]);
        assert_eq!(empty.n_eff, 0.0);
        let empty = clustered_wilson(&[], &[], 0.95);
        assert_eq!(
            empty.interval,
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
    }

    #[test]
    fn wilson_effective_agrees_with_wilson_on_integers() {
        for (x, n) in [
            (0u64, 1u64),
            (1, 1),
            (19, 20),
            (7, 13),
            (950, 1000),
            (0, 44),
        ] {
            assert_eq!(
                wilson_effective(x as f64 / n as f64, n as f64, 0.95),
                wilson(x, n, 0.95)
            );
        }
        // A fractional effective size lies between its integer neighbours.
        let (lo20, lo21) = (wilson(20, 20, 0.95).low, wilson(21, 21, 0.95).low);
        let mid = wilson_effective(1.0, 20.5, 0.95).low;
        assert!(lo20 < mid && mid < lo21);
        assert_eq!(
            wilson_effective(0.5, 0.0, 0.95),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
    }

    /// (name, per-case (baseline, candidate) outcomes, n_eff, low, high) from `reference.py`:
    /// Newcombe on the table divided by the design effect of the deltas.
    #[test]
    fn clustered_paired_diff_matches_the_reference() {
        let both = (true, true);
        let reg = (true, false);
        let imp = (false, true);
        let none = (false, false);
        let mut identical_flips = repeat_case(&[both; 3], 7);
        identical_flips.extend(repeat_case(&[reg; 3], 2));
        identical_flips.push(vec![imp; 3]);
        let mut mixed = repeat_case(&[both; 3], 12);
        mixed.extend([
            vec![both, reg, both],
            vec![reg; 3],
            vec![imp, none, imp],
            vec![none; 3],
            vec![reg, both, none],
        ]);
        let mut one_repeat = repeat_case(&[both], 7);
        one_repeat.extend(repeat_case(&[reg], 3));
        one_repeat.push(vec![imp]);
        one_repeat.extend(repeat_case(&[none], 2));
        let cases: Vec<PairedCase> = vec![
            (
                "identical_no_flips_K3",
                repeat_case(&[both; 3], 10),
                10.0,
                -0.27753279986288926,
                0.27753279986288926,
            ),
            (
                "identical_flips_K3",
                identical_flips,
                10.0,
                -0.4335045539031107,
                0.2571796284827661,
            ),
            (
                "mixed_K3",
                mixed,
                24.048780487804876,
                -0.24078911045908746,
                0.12020434838288513,
            ),
            (
                "flips_cancel_in_every_case_K2",
                repeat_case(&[reg, imp], 6),
                12.0,
                -0.4924368047325878,
                0.4924368047325878,
            ),
            (
                "one_repeat",
                one_repeat,
                13.0,
                -0.4363439605641459,
                0.16596997387022816,
            ),
        ];
        for (name, per_case, n_eff, low, high) in cases {
            let (pairs, clusters) = flatten(&per_case);
            let (ci, effective) = clustered_paired_diff(&pairs, &clusters, 0.95);
            close(effective.n_eff, n_eff, 1e-12, 0.0);
            close(ci.low, low, 1e-12, 1e-15);
            close(ci.high, high, 1e-12, 1e-15);
            assert!(ci.low < ci.high, "{name}: {ci:?}");
        }
    }

    /// Identical repeats: exactly the repeat-1 Newcombe interval, flips or not; no variation
    /// never collapses to a point.
    #[test]
    fn clustered_paired_diff_with_identical_repeats_is_the_repeat_1_interval() {
        for (a, b, c, d) in [
            (10u64, 0u64, 0u64, 0u64),
            (7, 2, 1, 0),
            (30, 4, 1, 5),
            (0, 0, 0, 3),
        ] {
            let mut one = Vec::new();
            for (count, pair) in [
                (a, (true, true)),
                (b, (true, false)),
                (c, (false, true)),
                (d, (false, false)),
            ] {
                one.extend(std::iter::repeat_n(pair, count as usize));
            }
            let expected = newcombe_paired_diff(a, b, c, d, 0.95);
            assert!(expected.low < expected.high);
            for k in 1..=5 {
                let per_case: Vec<Vec<(bool, bool)>> = one.iter().map(|&p| vec![p; k]).collect();
                let (pairs, clusters) = flatten(&per_case);
                let (ci, effective) = clustered_paired_diff(&pairs, &clusters, 0.95);
                assert_eq!(ci, expected, "({a}, {b}, {c}, {d}) x {k}");
                assert_eq!(effective.n_eff, one.len() as f64);
            }
        }
        let (ci, _) = clustered_paired_diff(&[], &[], 0.95);
        assert_eq!((ci.low, ci.high), (-1.0, 1.0));
    }

    #[test]
    fn newcombe_effective_agrees_with_newcombe_on_integers() {
        for (a, b, c, d) in [
            (59u64, 16u64, 6u64, 80u64),
            (44, 0, 0, 0),
            (0, 5, 5, 0),
            (2, 0, 0, 3),
        ] {
            assert_eq!(
                newcombe_paired_diff_effective(a as f64, b as f64, c as f64, d as f64, 0.95),
                newcombe_paired_diff(a, b, c, d, 0.95)
            );
        }
    }

    // ----- Minimum detectable effect -----------------------------------------------------

    /// (n, discordant_rate, alpha, power, mde) from Connor's formula solved with brentq.
    const MDE: &[(u64, f64, f64, f64, f64)] = &[
        (44, 0.0, 0.05, 0.8, 0.1690323806585947),
        (44, 0.1, 0.05, 0.8, 0.1690323806585947),
        (44, 0.5, 0.05, 0.8, 0.29071668395415035),
        (100, 0.05, 0.05, 0.8, 0.07665613424623575),
        (400, 0.2, 0.05, 0.8, 0.062460894394265935),
        (1000, 0.02, 0.05, 0.8, 0.012514304836010362),
        (3, 0.5, 0.05, 0.8, 1.0),
        (4, 0.0, 0.05, 0.8, 0.9979617435138433),
        (10, 0.3, 0.05, 0.8, 0.6158377170969117),
        (100000, 0.01, 0.05, 0.8, 0.0008859285902095941),
        (500, 0.1, 0.01, 0.9, 0.05428258787672747),
    ];

    #[test]
    fn min_detectable_drop_matches_connor_solved_numerically() {
        for &(n, psi, alpha, power, mde) in MDE {
            close(min_detectable_drop(n, psi, alpha, power), mde, 1e-9, 1e-15);
        }
        assert_eq!(min_detectable_drop(0, 0.1, 0.05, 0.8), 1.0);
        // More cases, smaller detectable drop.
        assert!(
            min_detectable_drop(1000, 0.1, 0.05, 0.8) < min_detectable_drop(100, 0.1, 0.05, 0.8)
        );
    }

    // ----- Holm ---------------------------------------------------------------------------

    #[test]
    fn holm_matches_statsmodels() {
        let cases: [(&[f64], &[f64]); 6] = [
            (&[0.01, 0.04, 0.03, 0.005], &[0.03, 0.06, 0.06, 0.02]),
            (&[0.02, 0.02, 0.5, 0.01], &[0.06, 0.06, 0.5, 0.04]),
            (&[0.5, 0.9, 0.99], &[1.0, 1.0, 1.0]),
            (&[0.03], &[0.03]),
            (&[1.0, 0.0, 0.2], &[1.0, 0.0, 0.4]),
            (
                &[0.001, 0.0125, 0.0126, 0.04, 0.3, 0.049],
                &[0.006, 0.0625, 0.0625, 0.12, 0.3, 0.12],
            ),
        ];
        for (input, expected) in cases {
            let got = holm(input);
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(expected) {
                close(*g, *e, 1e-15, 1e-15);
            }
        }
        assert!(holm(&[]).is_empty());
        assert_eq!(holm(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
    }

    /// A fixed labelled set: 8 agree-pass, 2 judge-pass/human-fail, 1 judge-fail/human-pass,
    /// 4 agree-fail. By hand: TPR = 8/9, TNR = 4/6, p_o = 12/15, p_e = (10·9 + 5·6)/15² =
    /// 120/225, kappa = (12/15 − 120/225)/(1 − 120/225) = 4/7 (the formula of sklearn's
    /// `cohen_kappa_score`). Rogan–Gladen at p = 0.6: (0.6 + 4/6 − 1)/(8/9 + 4/6 − 1) = 0.48;
    /// the Wilson ends of 12/20 (0.386581500762, 0.781193467627, the score formula evaluated
    /// in Python) map to 0.0958467014 and 0.8061482417.
    #[test]
    fn judge_agreement_matches_hand_values() {
        let mut t = Agreement::default();
        for (judge, human, count) in [
            (true, true, 8),
            (true, false, 2),
            (false, true, 1),
            (false, false, 4),
        ] {
            for _ in 0..count {
                t.add(judge, human);
            }
        }
        assert_eq!(t.total(), 15);
        assert!((t.true_positive_rate().unwrap() - 8.0 / 9.0).abs() < 1e-12);
        assert!((t.true_negative_rate().unwrap() - 4.0 / 6.0).abs() < 1e-12);
        assert!((t.kappa().unwrap() - 4.0 / 7.0).abs() < 1e-12);
        let (tpr, tnr) = (8.0 / 9.0, 4.0 / 6.0);
        assert!((rogan_gladen(0.6, tpr, tnr).unwrap() - 0.48).abs() < 1e-12);
        let ci = wilson(12, 20, 0.95);
        assert!((ci.low - 0.386581500762).abs() < 1e-9, "{ci:?}");
        assert!((ci.high - 0.781193467627).abs() < 1e-9, "{ci:?}");
        let corrected = rogan_gladen_interval(ci, tpr, tnr).unwrap();
        assert!((corrected.low - 0.0958467014).abs() < 1e-9, "{corrected:?}");
        assert!(
            (corrected.high - 0.8061482417).abs() < 1e-9,
            "{corrected:?}"
        );
        // Clamped: an observed rate below the false-positive rate corrects to 0.
        assert_eq!(rogan_gladen(0.1, tpr, tnr), Some(0.0));
        assert_eq!(rogan_gladen(1.0, tpr, tnr), Some(1.0));
    }

    #[test]
    fn judge_agreement_is_undefined_not_a_number() {
        // No labels at all.
        let t = Agreement::default();
        assert_eq!(
            (t.true_positive_rate(), t.true_negative_rate(), t.kappa()),
            (None, None, None)
        );
        // Only human passes, all judged pass: TNR and kappa undefined (p_e = 1).
        let t = Agreement {
            true_positive: 5,
            ..Agreement::default()
        };
        assert_eq!(t.true_positive_rate(), Some(1.0));
        assert_eq!(t.true_negative_rate(), None);
        assert_eq!(t.kappa(), None);
        // Perfect disagreement: kappa −1; a judge no better than chance cannot be corrected.
        let t = Agreement {
            false_positive: 3,
            false_negative: 3,
            ..Agreement::default()
        };
        assert!((t.kappa().unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(rogan_gladen(0.5, 0.0, 0.0), None);
        assert_eq!(rogan_gladen(0.5, 0.5, 0.5), None);
        // Perfect agreement: kappa 1, the correction is the identity.
        let t = Agreement {
            true_positive: 3,
            true_negative: 2,
            ..Agreement::default()
        };
        assert_eq!(t.kappa(), Some(1.0));
        assert!((rogan_gladen(0.3, 1.0, 1.0).unwrap() - 0.3).abs() < 1e-12);
    }
}

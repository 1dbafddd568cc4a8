#!/usr/bin/env python3
"""Reference values for src/stats.rs, computed independently of the Rust code.

Run:
    python3 -m venv /tmp/statsvenv
    /tmp/statsvenv/bin/pip install scipy statsmodels numpy
    /tmp/statsvenv/bin/python tests/stats_reference/reference.py > tests/stats_reference/reference_output.txt

The Rust unit tests hard-code the numbers printed here (floats are printed with repr, i.e. the
shortest string that round-trips), so they never need Python. Sources, per statistic:

- McNemar exact: statsmodels mcnemar(exact=True) and scipy.stats.binomtest (two-sided), which
  agree for p = 1/2; mid-p from scipy.stats.binom (cdf - pmf/2, doubled, capped at 1).
- Wilson: statsmodels proportion_confint(method="wilson").
- Newcombe paired difference (method 10): statsmodels has none, so it is implemented below
  from the paper's definition (Newcombe 1998, Stat Med 17:2635) on top of statsmodels' Wilson
  limits, and checked against the published worked example of Fagerland, Lydersen & Laake
  (2017), "Statistical Analysis of Contingency Tables", ch. 8 (Cavo et al. 2012 table
  59, 6, 16, 80 -> -0.0621, 95% CI -0.1186 to -0.0046). The example of Newcombe's own Table II
  is not reproduced: I cannot recall its numbers reliably.
- Paired bootstrap: the same SplitMix64 generator, Lemire index sampler, multiplicity-weighted
  four-accumulator sum and type-7 quantile re-implemented here in pure Python integers/floats
  (bit-exact with the Rust code), cross-checked against numpy.percentile. As a sanity check
  that the generator/sampler add nothing odd, the interval of one vector is also compared
  with scipy.stats.bootstrap(method="percentile") (different random numbers, so only
  approximately).
- Wilcoxon: scipy.stats.wilcoxon with its defaults (scipy version printed below).
- Clustered SE: numpy from the formula sqrt(sum_c (sum_{i in c} (x_i - mean))^2) / N, and
  statsmodels OLS on a constant with cov_type="cluster", use_correction=False (CR0).
- Minimum detectable drop: Connor (1987) sample-size formula solved numerically for the
  difference with scipy.optimize.brentq (the Rust code uses a closed form).
- Holm: statsmodels multipletests(method="holm").
- Rates with repeats: the effective sample size N / deff, with Kish's design effect taken as
  the ratio of statsmodels' CR0 cluster-robust variance of the mean to its HC0 (independent)
  variance, cross-checked with exact fractions; then statsmodels' Wilson interval on
  (p * n_eff, n_eff), and the Newcombe function above on the table divided by deff (the
  Rao-Scott adjustment).
"""

import math
import sys

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


# --------------------------------------------------------------------------------------------
# SplitMix64 and vector generators shared with the Rust tests
# --------------------------------------------------------------------------------------------

def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + GAMMA) & MASK64
        return mix(self.state)


def gen_continuous(seed, n):
    """Deltas in [-0.4, 0.6) with (practically) no ties: 53 random bits / 2^53 - 0.4."""
    rng = SplitMix64(seed)
    return [float(rng.next() >> 11) * 2.0 ** -53 - 0.4 for _ in range(n)]


def gen_discrete(seed, n, m):
    """Integer deltas in [-m, m]: many ties and zeros."""
    rng = SplitMix64(seed)
    return [float(rng.next() % (2 * m + 1)) - float(m) for _ in range(n)]


def r(x):
    return repr(float(x))


# --------------------------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------------------------

def mcnemar_ref(b, c):
    n = b + c
    if n == 0:
        return 1.0, 1.0
    k = min(b, c)
    p_sm = mcnemar([[0, b], [c, 0]], exact=True).pvalue
    p_scipy = stats.binomtest(k, n, 0.5).pvalue
    p_cdf = min(1.0, 2.0 * stats.binom.cdf(k, n, 0.5))
    # the three must agree (they are the same quantity for p = 1/2)
    assert math.isclose(p_sm, p_cdf, rel_tol=1e-12, abs_tol=1e-300), (b, c, p_sm, p_cdf)
    assert math.isclose(p_scipy, p_cdf, rel_tol=1e-9, abs_tol=1e-300), (b, c, p_scipy, p_cdf)
    mid = min(1.0, 2.0 * (stats.binom.cdf(k, n, 0.5) - 0.5 * stats.binom.pmf(k, n, 0.5)))
    return p_cdf, mid


MCNEMAR_CASES = [
    (0, 0), (1, 0), (0, 1), (2, 2), (3, 0), (5, 1), (1, 5), (6, 0), (10, 3), (30, 45),
    (45, 30), (0, 20), (12, 0), (200, 260), (1000, 0), (75500, 74500), (74000, 76000),
    (100800, 99200), (150000, 0), (100010, 99990), (74999, 75001),
]


# --------------------------------------------------------------------------------------------
# Wilson and Newcombe
# --------------------------------------------------------------------------------------------

def wilson_ref(x, n, conf):
    lo, hi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
    return float(lo), float(hi)


def newcombe10(first_pass_second_fail, first_fail_second_pass, both_pass, both_fail, conf,
               corrected_phi=True):
    """Newcombe (1998) method 10 in the paper's notation: table (A, B / C, D) with
    A = both +, B = first + second -, C = first - second +, D = both -; the CI is for
    theta = p1 - p2 = (B - C)/n with p1 = (A+B)/n, p2 = (A+C)/n. Wilson limits from statsmodels.
    """
    A, B, C, D = both_pass, first_pass_second_fail, first_fail_second_pass, both_fail
    n = A + B + C + D
    p1 = (A + B) / n
    p2 = (A + C) / n
    l1, u1 = wilson_ref(A + B, n, conf)
    l2, u2 = wilson_ref(A + C, n, conf)
    e, f, g, h = A + B, C + D, A + C, B + D
    if e * f * g * h == 0:
        phi = 0.0
    else:
        diff = A * D - B * C
        if corrected_phi:
            if diff > n / 2:
                diff = diff - n / 2
            elif diff >= 0:
                diff = 0
        phi = diff / math.sqrt(e * f * g * h)
    theta = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return theta - dl, theta + du


def newcombe_api(a, b, c, d, conf):
    """The Rust API's orientation: b = baseline pass & candidate fail, c = baseline fail &
    candidate pass, CI for p_candidate - p_baseline. So 'first' = candidate."""
    return newcombe10(c, b, a, d, conf)


# --------------------------------------------------------------------------------------------
# Bootstrap (bit-exact re-implementation)
# --------------------------------------------------------------------------------------------

class IndexSampler:
    def __init__(self, seed, n):
        self.rng = SplitMix64(seed)
        self.buffer = 0
        self.have_high = False
        self.n = n
        self.threshold = ((1 << 32) - n) % n

    def next_u32(self):
        if self.have_high:
            self.have_high = False
            return self.buffer >> 32
        self.buffer = self.rng.next()
        self.have_high = True
        return self.buffer & 0xFFFFFFFF

    def index(self):
        while True:
            m = self.next_u32() * self.n
            if (m & 0xFFFFFFFF) >= self.threshold:
                return m >> 32


def sum4(values):
    s = [0.0, 0.0, 0.0, 0.0]
    for i, v in enumerate(values):
        s[i % 4] += v
    return (s[0] + s[1]) + (s[2] + s[3])


def resample_seed(seed, r_index):
    return mix((seed + GAMMA * (r_index + 1)) & MASK64)


def quantile7(sorted_values, q):
    last = len(sorted_values) - 1
    h = last * q
    lo = math.floor(h)
    i = int(lo)
    if i >= last:
        return sorted_values[last]
    frac = h - lo
    return sorted_values[i] + frac * (sorted_values[i + 1] - sorted_values[i])


def weighted_sum4(deltas, counts):
    s = [0.0, 0.0, 0.0, 0.0]
    for i, (d, c) in enumerate(zip(deltas, counts)):
        s[i % 4] += float(c) * d
    return (s[0] + s[1]) + (s[2] + s[3])


def bootstrap_ref(deltas, resamples, seed, conf):
    n = len(deltas)
    if all(d == deltas[0] for d in deltas):
        return deltas[0], deltas[0], deltas[0]
    mean = weighted_sum4(deltas, [1] * n) / n
    assert mean == sum4(deltas) / n
    means = []
    for rr in range(resamples):
        s = IndexSampler(resample_seed(seed, rr), n)
        counts = [0] * n
        for _ in range(n):
            counts[s.index()] += 1
        means.append(weighted_sum4(deltas, counts) / n)
    means.sort()
    alpha = 1.0 - conf
    lo = quantile7(means, alpha / 2.0)
    hi = quantile7(means, 1.0 - alpha / 2.0)
    np_lo, np_hi = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    assert math.isclose(lo, np_lo, rel_tol=1e-12, abs_tol=1e-15), (lo, np_lo)
    assert math.isclose(hi, np_hi, rel_tol=1e-12, abs_tol=1e-15), (hi, np_hi)
    return mean, lo, hi


# --------------------------------------------------------------------------------------------
# Clustered SE, MDE
# --------------------------------------------------------------------------------------------

def clustered_ref(values, clusters):
    x = np.asarray(values, dtype=float)
    g = np.asarray(clusters)
    mean = x.mean()
    resid = x - mean
    ss = sum(resid[g == c].sum() ** 2 for c in np.unique(g))
    se = math.sqrt(ss) / len(x)
    if len(np.unique(g)) > 1:
        fit = sm.OLS(x, np.ones_like(x)).fit(
            cov_type="cluster", cov_kwds={"groups": g, "use_correction": False})
        assert math.isclose(se, float(fit.bse[0]), rel_tol=1e-9, abs_tol=1e-15), (se, fit.bse[0])
    return float(mean), se


def connor_n(delta, psi, za, zb):
    return (za * math.sqrt(psi) + zb * math.sqrt(max(0.0, psi - delta * delta))) ** 2 / delta ** 2


def mde_ref(n, psi, alpha, power):
    za = stats.norm.isf(alpha / 2)
    zb = stats.norm.ppf(power)

    # a drop of delta needs at least delta discordant: psi_eff = max(psi, delta)
    def f(delta):
        return connor_n(delta, max(psi, delta), za, zb) - n

    if f(1.0) > 0:  # even a 100% drop needs more cases
        return 1.0
    return optimize.brentq(f, 1e-12, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


# --------------------------------------------------------------------------------------------
# Rates with repeats: effective sample size (Kish design effect), Rao-Scott Wilson / Newcombe
# --------------------------------------------------------------------------------------------

def effective_ref(values, clusters):
    """n_eff = N / deff with deff = CR0 cluster-robust variance of the mean over the HC0
    (independent) variance, both from statsmodels OLS on a constant; cross-checked with exact
    fractions. No variation at all -> n_eff = number of clusters; deff floored at 1 and
    capped at the largest cluster."""
    from fractions import Fraction
    x = np.asarray(values, dtype=float)
    g = np.asarray(clusters)
    n = len(x)
    groups, counts = np.unique(g, return_counts=True)
    kmax = int(counts.max())
    total = sum(Fraction(v) for v in values)
    within = sum((Fraction(v) - total / n) ** 2 for v in values)
    between = sum(
        (sum(Fraction(v) for v, c in zip(values, clusters) if c == k) - int(m) * total / n) ** 2
        for k, m in zip(groups, counts))
    if within == 0:
        return float(len(groups))
    if between == 0:
        exact = Fraction(n)
    else:
        exact = n * within / between
    exact = min(max(exact, Fraction(n, kmax)), Fraction(n))
    ones = np.ones_like(x)
    var_c = float(sm.OLS(x, ones).fit(
        cov_type="cluster", cov_kwds={"groups": g, "use_correction": False}).bse[0]) ** 2
    var_0 = float(sm.OLS(x, ones).fit(cov_type="HC0").bse[0]) ** 2
    deff = min(max(var_c / var_0, 1.0), float(kmax))
    assert math.isclose(n / deff, float(exact), rel_tol=1e-9), (n / deff, exact)
    return float(exact)


def flatten(per_case):
    values, clusters = [], []
    for case, outcomes in enumerate(per_case):
        for o in outcomes:
            values.append(o)
            clusters.append(case)
    return values, clusters


PROPORTION_CASES = [
    ("identical_all_pass_K5", [[1] * 5] * 20, 0.95),
    ("identical_19_of_20_K5", [[0] * 5] + [[1] * 5] * 19, 0.95),
    ("flaky_K4", [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1],
                  [1, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 1]], 0.95),
    ("flaky_K4_90", [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1],
                     [1, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 1]], 0.90),
    ("same_rate_every_case_K5", [[1, 1, 1, 1, 0]] * 8, 0.95),
    ("uneven", [[1, 1, 1], [0], [1, 0], [1, 1, 1, 1], [0, 0]], 0.95),
    ("one_repeat", [[1], [0], [1], [1], [1], [0], [1]], 0.95),
]

PAIRED_CASES = [
    ("identical_no_flips_K3", [[(1, 1)] * 3] * 10),
    ("identical_flips_K3", [[(1, 1)] * 3] * 7 + [[(1, 0)] * 3] * 2 + [[(0, 1)] * 3]),
    ("mixed_K3", [[(1, 1)] * 3] * 12 + [[(1, 1), (1, 0), (1, 1)], [(1, 0)] * 3,
                  [(0, 1), (0, 0), (0, 1)], [(0, 0)] * 3, [(1, 0), (1, 1), (0, 0)]]),
    ("flips_cancel_in_every_case_K2", [[(1, 0), (0, 1)]] * 6),
    ("one_repeat", [[(1, 1)]] * 7 + [[(1, 0)]] * 3 + [[(0, 1)]] + [[(0, 0)]] * 2),
]


def paired_ref(per_case, conf):
    pairs, clusters = flatten(per_case)
    deltas = [c - b for b, c in pairs]
    n_eff = effective_ref(deltas, clusters)
    deff = len(pairs) / n_eff
    a = sum(1 for b, c in pairs if b and c)
    b_ = sum(1 for b, c in pairs if b and not c)
    c_ = sum(1 for b, c in pairs if c and not b)
    d = sum(1 for b, c in pairs if not b and not c)
    lo, hi = newcombe_api(a / deff, b_ / deff, c_ / deff, d / deff, conf)
    return n_eff, lo, hi


# --------------------------------------------------------------------------------------------

def main():
    print(f"# python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"statsmodels {statsmodels.__version__}")

    print("\n## generators (first values, for checking the Rust re-implementation)")
    print("gen_continuous(1, 3) =", [r(v) for v in gen_continuous(1, 3)])
    print("gen_discrete(2, 6, 3) =", [r(v) for v in gen_discrete(2, 6, 3)])
    print("splitmix64(0) first 3 =", [hex(v) for v in (lambda g: [g.next() for _ in range(3)])(SplitMix64(0))])

    print("\n## mcnemar: (b, c, p_exact, mid_p)")
    for b, c in MCNEMAR_CASES:
        p, mid = mcnemar_ref(b, c)
        print(f"({b}, {c}, {r(p)}, {r(mid)}),")

    print("\n## wilson: (successes, n, confidence, low, high)  [statsmodels proportion_confint]")
    for x, n, conf in [(0, 1, 0.95), (1, 1, 0.95), (0, 10, 0.95), (10, 10, 0.95), (44, 44, 0.95),
                       (19, 20, 0.95), (7, 13, 0.95), (950, 1000, 0.95), (1, 100000, 0.95),
                       (19, 20, 0.90), (19, 20, 0.99), (50, 100, 0.95)]:
        lo, hi = wilson_ref(x, n, conf)
        print(f"({x}, {n}, {conf}, {r(lo)}, {r(hi)}),")

    print("\n## newcombe check against the published worked example (Fagerland et al. 2017, ch. 8)")
    lo, hi = newcombe10(6, 16, 59, 80, 0.95)
    print(f"table (59, 6, 16, 80): estimate {(6 - 16) / 161:.4f}, CI {lo:.4f} to {hi:.4f} "
          f"(published: -0.0621, -0.1186 to -0.0046)")
    assert (round((6 - 16) / 161, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)
    lo_raw, hi_raw = newcombe10(6, 16, 59, 80, 0.95, corrected_phi=False)
    print(f"same table with the uncorrected phi: {lo_raw:.4f} to {hi_raw:.4f} (does not match)")
    print("zero flips (22, 0, 0, 22): uncorrected phi gives", newcombe10(0, 0, 22, 22, 0.95, False),
          "corrected gives", newcombe10(0, 0, 22, 22, 0.95))

    print("\n## newcombe (API orientation): (a, b, c, d, confidence, low, high)")
    for a, b, c, d, conf in [
        (59, 16, 6, 80, 0.95), (1, 0, 0, 0, 0.95), (0, 1, 0, 0, 0.95), (0, 0, 1, 0, 0.95),
        (0, 0, 0, 1, 0.95), (44, 0, 0, 0, 0.95), (40, 0, 0, 4, 0.95), (22, 0, 0, 22, 0.95),
        (0, 0, 0, 10, 0.95), (900, 30, 45, 25, 0.95), (900, 45, 30, 25, 0.95), (0, 5, 5, 0, 0.95),
        (10, 3, 0, 2, 0.95), (100000, 750, 600, 3000, 0.95), (30, 4, 1, 5, 0.90),
        (30, 4, 1, 5, 0.99), (2, 0, 0, 3, 0.95),
    ]:
        lo, hi = newcombe_api(a, b, c, d, conf)
        print(f"({a}, {b}, {c}, {d}, {conf}, {r(lo)}, {r(hi)}),")
    print("zero-flip lower bound n=44, all pass:", r(newcombe_api(44, 0, 0, 0, 0.95)[0]))

    print("\n## wilcoxon: (name, p_value, statistic)  [scipy.stats.wilcoxon defaults]")
    wil_cases = [
        ("cont_10", gen_continuous(11, 10)),
        ("cont_30", gen_continuous(12, 30)),
        ("cont_50", gen_continuous(13, 50)),
        ("cont_51", gen_continuous(13, 51)),
        ("cont_200", gen_continuous(14, 200)),
        ("disc_10", gen_discrete(21, 10, 3)),
        ("disc_13", gen_discrete(22, 13, 2)),
        ("disc_14", gen_discrete(22, 14, 2)),
        ("disc_40", gen_discrete(23, 40, 4)),
        ("disc_60", gen_discrete(24, 60, 5)),
        ("one_pos", [2.5]),
        ("one_neg", [-0.3]),
        ("zero_and_one", [0.0, 1.0]),
        ("equal_8", [0.5] * 8),
        ("equal_20", [0.5] * 20),
        ("signs_equal_abs_6", [0.5, -0.5, 0.5, 0.5, -0.5, 0.5]),
        ("fixed_ties", [1.0, 2.0, 2.0, -3.0, 4.0, 4.0, 4.0, 5.0, -1.0, 6.0, 0.0, 7.0]),
    ]
    for name, d in wil_cases:
        res = stats.wilcoxon(d)
        print(f'("{name}", {r(res.pvalue)}, {r(res.statistic)}),')
    for name, d in [("zeros_5", [0.0] * 5), ("zeros_20", [0.0] * 20)]:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(d)
        print(f"# {name}: scipy p = {r(res.pvalue)} (stats.rs returns 1 for no non-zero delta)")

    print("\n## holm: input -> adjusted  [statsmodels multipletests(method='holm')]")
    for ps in [[0.01, 0.04, 0.03, 0.005], [0.02, 0.02, 0.5, 0.01], [0.5, 0.9, 0.99],
               [0.03], [1.0, 0.0, 0.2], [0.001, 0.0125, 0.0126, 0.04, 0.3, 0.049]]:
        adj = multipletests(ps, method="holm")[1]
        print(f"{[r(p) for p in ps]} -> {[r(p) for p in adj]}")

    print("\n## clustered: (name, mean, se)")
    cont = gen_continuous(31, 30)
    flips = gen_discrete(32, 24, 1)
    for name, values, clusters in [
        ("cont_K3", cont, [i // 3 for i in range(30)]),
        ("cont_K1", cont, list(range(30))),
        ("flips_K4_sparse_ids", flips, [100 + 7 * (i // 4) for i in range(24)]),
        ("uneven", [1.0, 1.0, 1.0, 0.0, -1.0, 0.5, 0.5, 2.0], [0, 0, 0, 5, 5, 9, 9, 3]),
        ("constant", [0.25] * 6, [0, 0, 1, 1, 2, 2]),
    ]:
        mean, se = clustered_ref(values, clusters)
        print(f'("{name}", {r(mean)}, {r(se)}),')
    naive = float(np.std(cont) / math.sqrt(30))
    print("cont naive (independent, ddof=0) se for comparison:", r(naive))

    print("\n## min detectable drop: (n, discordant_rate, alpha, power, mde)  [Connor 1987, brentq]")
    for n, psi, alpha, power in [(44, 0.0, 0.05, 0.8), (44, 0.1, 0.05, 0.8), (44, 0.5, 0.05, 0.8),
                                 (100, 0.05, 0.05, 0.8), (400, 0.2, 0.05, 0.8),
                                 (1000, 0.02, 0.05, 0.8), (3, 0.5, 0.05, 0.8), (4, 0.0, 0.05, 0.8),
                                 (10, 0.3, 0.05, 0.8), (100000, 0.01, 0.05, 0.8),
                                 (500, 0.1, 0.01, 0.9)]:
        print(f"({n}, {psi}, {alpha}, {power}, {r(mde_ref(n, psi, alpha, power))}),")

    print("\n## bootstrap (bit-exact re-implementation): (name, resamples, seed, conf, mean, low, high)")
    for name, d, resamples, seed, conf in [
        ("cont_25", gen_continuous(41, 25), 2000, 42, 0.95),
        ("disc_7", gen_discrete(42, 7, 2), 999, 7, 0.90),
        ("cont_1000", gen_continuous(43, 1000), 2000, 2024, 0.95),
        ("one", [0.75], 100, 1, 0.95),
    ]:
        mean, lo, hi = bootstrap_ref(d, resamples, seed, conf)
        print(f'("{name}", {resamples}, {seed}, {conf}, {r(mean)}, {r(lo)}, {r(hi)}),')
        if name == "cont_1000":
            sp = stats.bootstrap((np.asarray(d),), np.mean, n_resamples=20000,
                                 method="percentile", confidence_level=conf,
                                 rng=np.random.default_rng(0)).confidence_interval
            print(f"# cont_1000 via scipy.stats.bootstrap(percentile, 20000, other random "
                  f"numbers): {sp.low:.5f} to {sp.high:.5f}")
            assert abs(sp.low - lo) < 0.002 and abs(sp.high - hi) < 0.002

    print("\n## clustered wilson: (name, confidence, n_eff, low, high)  [Wilson on n_eff; statsmodels]")
    for name, per_case, conf in PROPORTION_CASES:
        values, clusters = flatten(per_case)
        n_eff = effective_ref(values, clusters)
        p = sum(values) / len(values)
        lo, hi = wilson_ref(p * n_eff, n_eff, conf)
        if p == 0:
            lo = 0.0
        if p == 1:
            hi = 1.0
        print(f'("{name}", {conf}, {r(n_eff)}, {r(lo)}, {r(hi)}),')

    print("\n## clustered newcombe: (name, n_eff, low, high)  [Newcombe on the table / deff, 0.95]")
    for name, per_case in PAIRED_CASES:
        n_eff, lo, hi = paired_ref(per_case, 0.95)
        print(f'("{name}", {r(n_eff)}, {r(lo)}, {r(hi)}),')


if __name__ == "__main__":
    main()

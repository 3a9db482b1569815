"""Paired comparison statistics for `compare` (common random numbers across arms).

For arms A and B run on the same seeds, d_i = x_A,i − x_B,i. Reported: n, mean(d), the paired
standard deviation s_d, the two-sided 95 % confidence interval mean(d) ± t_{0.975, n−1}·s_d/√n
(Student 1908), and the number of seeds a two-sided paired t-test at α = 0.05 needs for 80 %
power at the observed difference: n ≈ ((z_{0.975} + z_{0.8})·s_d / mean(d))² (normal
approximation, Cohen 1988), rounded up.

Equivalence and non-inferiority within a margin δ (issue 9's robustness checks: ±5 % of the
baseline's mean shortfall). Two one-sided tests at α = 0.05 (Schuirmann 1987): A is equivalent to B
when the 90 % interval mean(d) ± t_{0.95, n−1}·s_d/√n lies inside (−δ, δ). A costs at most δ more
than B (non-inferiority, lower is better) when the one-sided 95 % upper bound
mean(d) + t_{0.95, n−1}·s_d/√n is below δ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z_975 = 1.959963984540054
Z_80 = 0.8416212335729143
Z_95 = 1.6448536269514722


# t_{0.975, df} for df = 1…30 (standard tables); above 30 the Cornish–Fisher expansion is exact to <1e-6
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
         2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
         2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


# t_{0.95, df} for df = 1…30 (standard tables)
_T95 = (6.313752, 2.919986, 2.353363, 2.131847, 2.015048, 1.943180, 1.894579, 1.859548, 1.833113, 1.812461,
        1.795885, 1.782288, 1.770933, 1.761310, 1.753050, 1.745884, 1.739607, 1.734064, 1.729133, 1.724718,
        1.720743, 1.717144, 1.713872, 1.710882, 1.708141, 1.705618, 1.703288, 1.701131, 1.699127, 1.697261)


def student_t_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with `df` degrees of freedom (table, then Hill 1970 expansion)."""
    return _student_t(df, _T975, Z_975)


def student_t_95(df: int) -> float:
    """The 95 % quantile of Student's t with `df` degrees of freedom (table, then Hill 1970 expansion)."""
    return _student_t(df, _T95, Z_95)


def _student_t(df: int, table: tuple[float, ...], z: float) -> float:
    if df < 1:
        return math.nan
    if df <= len(table):
        return table[df - 1]
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True, slots=True)
class PairedDifference:
    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    seeds_for_80pct_power: int | None
    one_sided_half: float = math.nan  # t_{0.95, n−1}·s_d/√n

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def equivalent(self, margin: float) -> bool:
        """Two one-sided tests at α = 0.05: the 90 % interval inside (−margin, margin)."""
        return -margin < self.mean - self.one_sided_half and self.mean + self.one_sided_half < margin

    def noninferior(self, margin: float) -> bool:
        """A − B costs less than `margin` more, at α = 0.05 one-sided (lower is better)."""
        return self.mean + self.one_sided_half < margin

    def margin_tests(self, margin: float) -> dict[str, float | bool]:
        return {
            "margin": margin,
            "ci90_low": self.mean - self.one_sided_half,
            "ci90_high": self.mean + self.one_sided_half,
            "equivalent": self.equivalent(margin),
            "noninferior": self.noninferior(margin),
        }

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "ci95_low": self.ci_low,
            "ci95_high": self.ci_high,
            "significant": self.significant,
            "seeds_for_80pct_power": self.seeds_for_80pct_power,
        }


def paired_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> PairedDifference:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired comparison needs two equal-length 1-D samples (one value per seed)")
    d = x - y
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    half = student_t_975(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    one_sided = student_t_95(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    power_n = None
    if n > 1 and mean != 0 and sd > 0:
        power_n = max(2, math.ceil(((Z_975 + Z_80) * sd / mean) ** 2))
    return PairedDifference(n, mean, sd, mean - half, mean + half, power_n, one_sided)


def summary(values: npt.ArrayLike) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "p05": float(np.percentile(v, 5)),
        "p50": float(np.percentile(v, 50)),
        "p95": float(np.percentile(v, 95)),
    }

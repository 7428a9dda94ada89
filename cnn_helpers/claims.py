"""Claims about every training run, checked one run at a time, with a stated false-alarm rate.

A claim such as "the tutorial's recipe reaches a test accuracy of at least 0.975" is
about every run of a random process: each seed, each CPU, each arithmetic gives
another network. One run cannot prove it, and a check of one run can fail by
chance even when nothing is wrong. So a claim is judged against a record of many
runs (:mod:`cnn_helpers.seed_record`):

- :class:`RunDistribution` summarises the record (n runs, mean, standard deviation);
- :meth:`RunDistribution.false_alarm` is the probability that one more correct run
  falls below a threshold. It uses the *prediction* distribution for one new run
  of a normal process whose mean and SD are estimated from the record:
  ``(x - mean) / (sd * sqrt(1 + 1/n))`` follows Student's t with n - 1 degrees of
  freedom. The t (not the normal) pays for the SD being estimated from n runs,
  and the SD is doubled (:data:`TAIL_ALLOWANCE`) because the recorded tail is
  heavier than a normal one;
- a threshold is a claim only when that probability is at most
  :data:`MAX_FALSE_ALARM`; :func:`check_run` applies the claim to a live run and,
  if the run falls short, fails with a message naming the seed, the value, the
  threshold and what the record shows.

Every chapter that makes a claim about many runs uses this module, so the rule is
written once. Student's t is computed here (its CDF through the regularised
incomplete beta function) because the book does not depend on SciPy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The largest probability, per run, that a correct run fails a claim's check.
MAX_FALSE_ALARM = 1e-3

#: False-alarm rates are computed with the recorded SD multiplied by this. The
#: record of the tutorial's recipe has a lower tail heavier than a normal
#: distribution's (its lowest run lies further below the mean than the lowest of as
#: many normal draws almost ever does; the seeds chapter simulates it), so a rate from
#: the plain normal model would be too optimistic. Doubling the SD is the book's
#: deliberately cautious allowance for that.
TAIL_ALLOWANCE = 2.0


class ClaimNotSupported(ValueError):
    """The record does not support the threshold at the allowed false-alarm rate."""


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (converges for x < (a+1)/(a+b+2))."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def regularized_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(x: float, df: float) -> float:
    """P(T <= x) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + x * x))
    return tail if x < 0 else 1.0 - tail


def t_quantile(p: float, df: float) -> float:
    """The x with P(T <= x) = p, by bisection on :func:`t_cdf`."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    low, high = -1e3, 1e3
    for _ in range(200):
        middle = 0.5 * (low + high)
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


@dataclass(frozen=True)
class RunDistribution:
    """What a record of runs says about one more run: n, mean and SD of the values."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in self.values)
        if len(values) < 3 or not all(math.isfinite(v) for v in values):
            raise ValueError(f"a distribution needs at least 3 finite runs, got {values}")
        object.__setattr__(self, "values", values)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1))

    def _scale(self, widen: float) -> float:
        return widen * self.sd * math.sqrt(1.0 + 1.0 / self.n)

    def false_alarm(self, threshold: float, widen: float = TAIL_ALLOWANCE) -> float:
        """Probability that one more correct run lands below ``threshold``.

        ``widen`` multiplies the SD (:data:`TAIL_ALLOWANCE` by default; 1 is the
        plain prediction distribution).
        """
        return t_cdf((threshold - self.mean) / self._scale(widen), self.n - 1)

    def lower_bound(self, rate: float = MAX_FALSE_ALARM, widen: float = TAIL_ALLOWANCE) -> float:
        """The threshold that one more correct run falls below with probability ``rate``."""
        return self.mean + t_quantile(rate, self.n - 1) * self._scale(widen)

    def share_below(self, threshold: float) -> float:
        """The share of the recorded runs below ``threshold``."""
        return float(np.mean(np.array(self.values) < threshold))


def supported_threshold(dist: RunDistribution, rate: float = MAX_FALSE_ALARM,
                        decimals: int = 3) -> float:
    """The highest round threshold (``decimals`` places) whose false-alarm rate is <= ``rate``."""
    step = 10.0 ** -decimals
    return math.floor(dist.lower_bound(rate) / step) * step


def require_supported(dist: RunDistribution, threshold: float, what: str) -> float:
    """Check that the record supports ``threshold``; return its false-alarm rate per run."""
    rate = dist.false_alarm(threshold)
    if rate > MAX_FALSE_ALARM:
        raise ClaimNotSupported(
            f"the record of {dist.n} runs (mean {dist.mean:.4f}, SD {dist.sd:.4f}) does not "
            f"support '{what} >= {threshold}': a correct run would fall below it with "
            f"probability {rate:.1e}, above the allowed {MAX_FALSE_ALARM:g}. The highest "
            f"supported threshold is {supported_threshold(dist):.3f}: lower the claim"
        )
    return rate


def check_run(value: float, threshold: float, dist: RunDistribution,
              what: str = "test accuracy", seed: int | None = None) -> float:
    """Assert that one live run clears a supported claim; return the claim's false-alarm rate.

    A run below the threshold fails with the seed, the value, the threshold and
    the record's distribution, because a correct run lands there only with the
    stated (tiny) probability: something real changed.
    """
    rate = require_supported(dist, threshold, what)
    if not value >= threshold:
        run = f"seed {seed}: " if seed is not None else ""
        raise AssertionError(
            f"{run}{what} {value:.4f} is below the claim {threshold} "
            f"(the record: {dist.n} runs, mean {dist.mean:.4f}, SD {dist.sd:.4f}, lowest "
            f"{min(dist.values):.4f}; a correct run falls below {threshold} with probability "
            f"{rate:.1e}): the recipe, the data or a library changed"
        )
    return rate


def tutorial_distribution(onednn: bool | None = None) -> RunDistribution:
    """The recorded test accuracies of the tutorial's recipe (every CPU, both oneDNN settings)."""
    from . import seed_record

    return RunDistribution(tuple(seed_record.accuracies(seed_record.load(), onednn)))


def check_tutorial_run(test_acc: float, seed: int) -> float:
    """The headline claim, applied to one live run of the tutorial's recipe."""
    from .recipe import CLAIMED_TEST_ACCURACY

    return check_run(test_acc, CLAIMED_TEST_ACCURACY, tutorial_distribution(), seed=seed)

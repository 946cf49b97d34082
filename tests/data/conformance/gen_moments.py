#!/usr/bin/python3
"""gen_moments.py - regenerate tests/data/conformance/extra/moments_welch_values.json.

Welch's t-test from the values themselves ({"values": [...]} arms, docs/stats.md), where
the moments must be kept without losing digits: offsets of 1e3 to 1e12 (and -1e12) over a
spread of about 10, values near 1e-300 and near 1e200. The expected t, df, p and
difference are computed with mpmath at 60 digits from the exact binary values written to
the file (each float is written with repr, which round-trips): mean and sample variance
as exact rationals' decimal expansion, Welch-Satterthwaite df, and the two-sided p from
the regularised incomplete beta function. Needs Debian's python3-mpmath only; CI reads
the committed output.

usage: tests/data/conformance/gen_moments.py [OUT_DIR]
"""
import json
import os
import random
import sys

import mpmath as mp

mp.mp.dps = 60
rng = random.Random(20261206)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "extra")


def moments(xs):
    v = [mp.mpf(x) for x in xs]  # exact: a double is a dyadic rational
    n = len(v)
    mean = mp.fsum(v) / n
    var = mp.fsum([(x - mean) ** 2 for x in v]) / (n - 1)
    return n, mean, var


def welch(c, t):
    nc, mc, vc = moments(c)
    nt, mt, vt = moments(t)
    sc, st = vc / nc, vt / nt
    se2 = sc + st
    diff = mt - mc
    tstat = diff / mp.sqrt(se2)
    df = se2 ** 2 / (sc ** 2 / (nc - 1) + st ** 2 / (nt - 1))
    p = mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + tstat ** 2), regularized=True)
    return {"t": float(tstat), "df": float(df), "p_value": float(p), "diff": float(diff)}


def arm(center, spread, n, alternate=False):
    if alternate:
        return [center + (spread if i % 2 == 0 else -spread) for i in range(n)]
    return [center + round(rng.gauss(0, spread), 3) for _ in range(n)]


def scaled(scale, lo, hi, n):
    return [scale * rng.uniform(lo, hi) for _ in range(n)]


cases = []
for offset in (1e3, 1e6, 1e9, 1e12, -1e12):
    cases.append({"name": "offset %g, spread 10, difference 1.5" % offset,
                  "input": {"control": {"values": arm(offset, 10, 200)},
                            "treatment": {"values": arm(offset + 1.5, 10, 200)}}})
# the case: 2,000 a side of 1e12 +- 10 (the sums gave sds of 37,082 and 0)
cases.append({"name": "1e12 +- 10, 2000 a side, difference 1",
              "input": {"control": {"values": arm(1e12, 10, 2000, alternate=True)},
                        "treatment": {"values": arm(1e12 + 1, 10, 2000, alternate=True)}}})
cases.append({"name": "1e9 +- 10, 2000 a side, difference 1.25",
              "input": {"control": {"values": arm(1e9, 10, 2000)},
                        "treatment": {"values": arm(1e9 + 1.25, 10, 2000)}}})
# tiny values: their squares (1e-600) are below any double
cases.append({"name": "values near 1e-300",
              "input": {"control": {"values": scaled(1e-300, 1.0, 1.2, 300)},
                        "treatment": {"values": scaled(1e-300, 1.02, 1.22, 300)}}})
cases.append({"name": "values near 1e-305, unequal sizes",
              "input": {"control": {"values": scaled(1e-305, 1.0, 3.0, 50)},
                        "treatment": {"values": scaled(1e-305, 1.5, 3.5, 80)}}})
# huge values: their squares (1e400) above any double
cases.append({"name": "values near 1e200",
              "input": {"control": {"values": scaled(1e200, 1.0, 1.1, 300)},
                        "treatment": {"values": scaled(1e200, 0.99, 1.09, 300)}}})
# zero-inflated revenue at an offset-free scale, as a sanity anchor
cases.append({"name": "zero-inflated values",
              "input": {"control": {"values": [0.0] * 150 + [round(rng.lognormvariate(3, 1), 2)
                                                             for _ in range(50)]},
                        "treatment": {"values": [0.0] * 140 + [round(rng.lognormvariate(3, 1), 2)
                                                               for _ in range(60)]}}})
for c in cases:
    c["input"]["alternative"] = "two-sided"
    c["expected"] = welch(c["input"]["control"]["values"], c["input"]["treatment"]["values"])

doc = {
    "description": "Welch's t-test from the values of each arm ({values: [...]}): the moments "
                   "kept without losing digits to offsets up to 1e12 or to values near 1e-300 "
                   "and 1e200.",
    "source": "mpmath %s at 60 digits from the exact binary values "
              "(tests/data/conformance/gen_moments.py)" % mp.__version__,
    "tolerance": {"relative": 1e-9, "absolute": 1e-13,
                  "fields": {"p_value": {"relative": 1e-9, "absolute": 1e-300}}},
    "cases": cases,
}
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "moments_welch_values.json"), "w") as fh:
    json.dump(doc, fh)
    fh.write("\n")
print("%d cases" % len(cases))

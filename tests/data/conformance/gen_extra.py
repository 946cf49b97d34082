#!/usr/bin/python3
"""gen_extra.py - regenerate tests/data/conformance/extra/*.json.

Extra conformance vectors in the format of ../shared/conformance/stats, computed here
from the closed forms of that README with mpmath at 40 digits: independent of our C
code, of GSL and of the shared files. They widen the ranges the shared files cover
(Welch df from 2 to 1e6 with far tails, priors other than Beta(1,1), arm ratios other
than 1, SRM with up to 8 arms, mSPRT on means). Needs Debian's python3-mpmath only;
CI does not run this, it reads the committed output.

usage: tests/data/conformance/gen_extra.py [OUT_DIR]
"""
import json
import os
import random
import sys

import mpmath as mp

mp.mp.dps = 40
rng = random.Random(20261123)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "extra")
SOURCE = "mpmath %s at 40 digits, closed forms of shared/conformance/stats/README.md" % mp.__version__


def f(x):
    return float(x)


def norm_q(x):
    return mp.ncdf(-x)


def write(name, desc, tol, cases):
    os.makedirs(OUT, exist_ok=True)
    doc = {"description": desc, "source": SOURCE, "tolerance": tol, "cases": cases}
    with open(os.path.join(OUT, name), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


def pvalue(stat_sf, stat, alt):
    if alt == "larger":
        return stat_sf(stat)
    if alt == "smaller":
        return stat_sf(-stat)
    return 2 * stat_sf(abs(stat))


# ---- two-proportion z-test -------------------------------------------------------------
def ztest_case(sc, nc, st, nt, alt, pooled, conf):
    sc, nc, st, nt = map(mp.mpf, (sc, nc, st, nt))
    pc, pt = sc / nc, st / nt
    diff = pt - pc
    vc, vt = pc * (1 - pc) / nc, pt * (1 - pt) / nt
    if pooled:
        p = (sc + st) / (nc + nt)
        se = mp.sqrt(p * (1 - p) * (1 / nc + 1 / nt))
    else:
        se = mp.sqrt(vc + vt)
    z = diff / se
    q = -mp.sqrt(2) * mp.erfinv(2 * ((1 - mp.mpf(conf)) / 2) - 1)
    out = {"z": f(z), "p_value": f(pvalue(norm_q, z, alt)), "diff": f(diff),
           "diff_ci_low": f(diff - q * mp.sqrt(vc + vt)), "diff_ci_high": f(diff + q * mp.sqrt(vc + vt))}
    lift = diff / pc
    sl = mp.sqrt(vt / pc**2 + pt**2 * vc / pc**4)
    out.update(relative_lift=f(lift), lift_ci_low=f(lift - q * sl), lift_ci_high=f(lift + q * sl))
    return out


cases = []
for k in range(40):
    n_c = rng.choice([50, 400, 3000, 20000, 10**6, 3 * 10**9])
    n_t = int(n_c * rng.choice([0.5, 1, 1, 1.7]))
    p = rng.choice([0.02, 0.1, 0.3, 0.5, 0.85])
    s_c = max(1, int(n_c * p))
    s_t = min(n_t - 1, max(1, int(n_t * p * rng.choice([0.8, 0.97, 1, 1.02, 1.1, 1.5]))))
    alt = rng.choice(["two-sided", "larger", "smaller"])
    pooled = rng.choice([True, False])
    conf = rng.choice([0.8, 0.9, 0.95, 0.99])
    inp = {"control": {"successes": s_c, "trials": n_c}, "treatment": {"successes": s_t, "trials": n_t},
           "alternative": alt, "pooled": pooled, "confidence": conf}
    cases.append({"name": "random %d" % k, "input": inp, "expected": ztest_case(s_c, n_c, s_t, n_t, alt, pooled, conf)})
write("extra_two_proportion_ztest.json", "Extra z-test vectors: unequal arms, every alternative, several confidence levels, up to 3e9 trials.",
      {"relative": 1e-9, "absolute": 1e-13, "fields": {"p_value": {"relative": 1e-9, "absolute": 1e-300},
                                                        "z": {"relative": 1e-9, "absolute": 1e-10}}}, cases)


# ---- Welch ---------------------------------------------------------------------------------
def t_sf(t, df):
    x = df / (df + t * t)
    upper = mp.betainc(df / 2, mp.mpf(1) / 2, 0, x, regularized=True) / 2
    return upper if t >= 0 else 1 - upper


cases = []
targets = [2.5, 5, 12, 25, 31, 45, 80, 125, 300, 700, 999, 1200, 5000, 10**5, 10**6]
for k, target in enumerate(targets * 3):
    n_c = max(2, int(target * rng.uniform(0.6, 1.1)))
    n_t = max(2, int(target * rng.uniform(0.6, 1.1)))
    sd_c, sd_t = rng.uniform(0.5, 3), rng.uniform(0.5, 3)
    se = mp.sqrt(mp.mpf(sd_c) ** 2 / n_c + mp.mpf(sd_t) ** 2 / n_t)
    tstat = rng.choice([0.3, 2.1, 6, 15, 40])
    m_c = round(rng.uniform(-5, 50), 3)
    m_t = float(mp.mpf(m_c) + tstat * se * rng.choice([1, -1]))
    alt = rng.choice(["two-sided", "larger", "smaller"])
    vc, vt = mp.mpf(sd_c) ** 2 / n_c, mp.mpf(sd_t) ** 2 / n_t
    t = (mp.mpf(m_t) - mp.mpf(m_c)) / mp.sqrt(vc + vt)
    df = (vc + vt) ** 2 / (vc**2 / (n_c - 1) + vt**2 / (n_t - 1))
    p = pvalue(lambda s: t_sf(s, df), t, alt)
    inp = {"control": {"mean": m_c, "sd": sd_c, "n": n_c}, "treatment": {"mean": m_t, "sd": sd_t, "n": n_t}, "alternative": alt}
    cases.append({"name": "df about %s, t about %s" % (target, tstat), "input": inp,
                  "expected": {"t": f(t), "df": f(df), "p_value": f(p)}})
write("extra_welch_ttest.json", "Extra Welch vectors: df from 2 to 1e6 on both sides of GSL's method switches, far tails.",
      {"relative": 1e-9, "absolute": 1e-13, "fields": {"p_value": {"relative": 1e-9, "absolute": 1e-300}}}, cases)


# ---- SRM -------------------------------------------------------------------------------------
cases = []
for k in range(30):
    arms = rng.randint(2, 8)
    weights = [rng.choice([1, 2, 5, 10, 20]) for _ in range(arms)]
    if arms > 2 and rng.random() < 0.3:
        weights[rng.randrange(arms)] = 0
    total = rng.choice([200, 10**4, 10**6, 4 * 10**9])
    sw = sum(weights)
    obs = [0 if w == 0 else max(0, int(total * w / sw * rng.uniform(0.97, 1.03))) for w in weights]
    N = mp.mpf(sum(obs))
    chi2 = mp.mpf(0)
    for o, w in zip(obs, weights):
        if w:
            e = N * w / sw
            chi2 += (o - e) ** 2 / e
    df = sum(1 for w in weights if w) - 1
    p = mp.gammainc(mp.mpf(df) / 2, chi2 / 2, mp.inf, regularized=True)
    cases.append({"name": "%d arms, %d units" % (arms, sum(obs)), "input": {"observed": obs, "weights": weights, "alpha": 0.001},
                  "expected": {"chi2": f(chi2), "df": df, "p_value": f(p), "mismatch": bool(p < 0.001)}})
write("extra_srm_chisquare.json", "Extra SRM vectors: 2 to 8 arms, zero-weight arms, up to 4e9 units.",
      {"relative": 1e-9, "absolute": 1e-13, "fields": {"p_value": {"relative": 1e-9, "absolute": 1e-300}}}, cases)


# ---- power -----------------------------------------------------------------------------------
def z_upper(a):
    return -mp.sqrt(2) * mp.erfinv(2 * a - 1)


cases = []
for k in range(30):
    p1 = rng.choice([0.01, 0.05, 0.2, 0.5, 0.8])
    m = rng.choice([-0.3, -0.05, 0.02, 0.1, 0.5])
    if not 0 < p1 * (1 + m) < 1:
        m = -m / 2
    alpha, power, ratio = rng.choice([0.01, 0.05, 0.1]), rng.choice([0.6, 0.8, 0.9, 0.99]), rng.choice([0.5, 1, 2, 3.5])
    n_control = rng.choice([100, 5000, 250000])
    P1, P2, r = mp.mpf(p1), mp.mpf(p1) * (1 + mp.mpf(m)), mp.mpf(ratio)
    h = 2 * mp.asin(mp.sqrt(P2)) - 2 * mp.asin(mp.sqrt(P1))
    za, zb = z_upper(mp.mpf(alpha) / 2), -z_upper(mp.mpf(power))
    pw = lambda n: mp.ncdf(abs(h) * mp.sqrt(n * r / (1 + r)) - za) + mp.ncdf(-abs(h) * mp.sqrt(n * r / (1 + r)) - za)
    n0 = ((za + zb) / h) ** 2 * (1 + 1 / r)
    n_h = mp.findroot(lambda n: pw(n) - power, n0)
    pbar = (P1 + r * P2) / (1 + r)
    s0, s1 = mp.sqrt(pbar * (1 - pbar) * (1 + 1 / r)), mp.sqrt(P1 * (1 - P1) + P2 * (1 - P2) / r)
    d = P2 - P1
    n_pn = ((za * s0 + zb * s1) / d) ** 2
    ppn = mp.ncdf((abs(d) * mp.sqrt(n_control) - za * s0) / s1) + mp.ncdf((-abs(d) * mp.sqrt(n_control) - za * s0) / s1)
    inp = {"baseline": p1, "mde_relative": m, "alpha": alpha, "power": power, "ratio": ratio, "n_control": n_control}
    cases.append({"name": "random %d" % k, "input": inp, "expected": {
        "effect_size_h": f(h), "n_control_cohen_h": f(n_h), "n_control_pooled_normal": f(n_pn),
        "power_cohen_h": f(pw(n_control)), "power_pooled_normal": f(ppn)}})
write("extra_power_sample_size.json", "Extra power vectors: arm ratios 0.5 to 3.5, alpha 0.01 to 0.1, power up to 0.99.",
      {"relative": 1e-9, "absolute": 1e-13, "fields": {"n_control_cohen_h": {"relative": 1e-7, "absolute": 0.0}}}, cases)


# ---- Bayes -----------------------------------------------------------------------------------
def p_greater(a1, b1, a2, b2):
    a1, b1, a2, b2 = map(mp.mpf, (a1, b1, a2, b2))
    t = mp.beta(a2, b1 + b2) / mp.beta(a2, b2)
    s = mp.mpf(0)
    for i in range(int(a1)):
        s += t
        t *= (a2 + i) * (b1 + i) / ((a2 + b2 + b1 + i) * (i + 1))
    return s


def gain(a1, b1, a2, b2):
    return mp.mpf(a1) / (a1 + b1) * p_greater(a1 + 1, b1, a2, b2) - mp.mpf(a2) / (a2 + b2) * p_greater(a1, b1, a2 + 1, b2)


cases = []
for k in range(30):
    n_c, n_t = rng.choice([0, 5, 40, 300, 2000]), rng.choice([0, 7, 40, 300, 2500])
    rate = rng.choice([0.01, 0.1, 0.4, 0.9])
    s_c = int(n_c * rate)
    s_t = min(n_t, int(n_t * rate * rng.choice([0.5, 1, 1.2, 2])))
    pa, pb = rng.choice([(1, 1), (1, 1), (2, 3), (5, 1), (10, 40)])
    ac, bc, at, bt = pa + s_c, pb + n_c - s_c, pa + s_t, pb + n_t - s_t
    exp = {"chance_to_beat_control": f(p_greater(at, bt, ac, bc)),
           "expected_loss_treatment": f(gain(ac, bc, at, bt)),
           "expected_loss_control": f(gain(at, bt, ac, bc))}
    inp = {"control": {"successes": s_c, "trials": n_c}, "treatment": {"successes": s_t, "trials": n_t},
           "prior": {"alpha": pa, "beta": pb}}
    cases.append({"name": "random %d, prior %d,%d" % (k, pa, pb), "input": inp, "expected": exp})
write("extra_beta_binomial_bayes.json", "Extra beta-binomial vectors: integer priors other than Beta(1,1), unequal arms, empty arms.",
      {"relative": 1e-6, "absolute": 1e-9}, cases)


# ---- mSPRT ------------------------------------------------------------------------------------
def look_out(theta, v, N, tau2, theta0, alpha, S, prev):
    if v == 0:
        return {"theta_hat": f(theta), "variance": 0.0, "log_lambda": 0.0, "always_valid_p": f(prev),
                "gb_ci_low": None, "gb_ci_high": None, "gb_p_value": None}, prev
    d = theta - theta0
    ll = mp.log(v / (v + tau2)) / 2 + tau2 * d * d / (2 * v * (v + tau2))
    p = min(prev, mp.exp(-ll))
    la = mp.log(alpha)
    rho2 = (-2 * la + mp.log(1 - 2 * la)) / S
    nr = N * rho2
    half = mp.sqrt(v * 2 * (nr + 1) / nr * mp.log(mp.sqrt(nr + 1) / alpha))
    ln_e = nr * (d * d / v) / (2 * (nr + 1)) - mp.log(nr + 1) / 2
    return {"theta_hat": f(theta), "variance": f(v), "log_lambda": f(ll), "always_valid_p": f(p),
            "gb_ci_low": f(theta - half), "gb_ci_high": f(theta + half), "gb_p_value": f(min(1, mp.exp(-ln_e)))}, p


cases = []
for k in range(24):
    metric = "mean" if k % 2 else "proportion"
    tau2 = rng.choice([1e-4, 1e-3, 0.01]) if metric == "proportion" else rng.choice([0.01, 0.25, 1.0])
    theta0, alpha, S = rng.choice([0.0, 0.0, 0.005]), rng.choice([0.05, 0.01, 0.1]), rng.choice([5000, 1000, 20000])
    looks, expected, prev = [], [], mp.mpf(1)
    n = 0
    eff = rng.choice([0, 0.01, 0.03])
    for j in range(rng.randint(3, 7)):
        n += rng.choice([50, 400, 3000, 20000])
        if metric == "proportion":
            pc = rng.choice([0.1, 0.3])
            sc, st = int(n * pc), int(n * (pc + eff))
            looks.append({"control": {"successes": sc, "trials": n}, "treatment": {"successes": st, "trials": n}})
            PC, PT = mp.mpf(sc) / n, mp.mpf(st) / n
            theta, v = PT - PC, PC * (1 - PC) / n + PT * (1 - PT) / n
        else:
            mc, sd_c, sd_t = 10.0, round(rng.uniform(1, 3), 2), round(rng.uniform(1, 3), 2)
            mt = round(mc + eff * 10 + rng.uniform(-0.05, 0.05), 4)
            looks.append({"control": {"mean": mc, "sd": sd_c, "n": n}, "treatment": {"mean": mt, "sd": sd_t, "n": n}})
            theta, v = mp.mpf(mt) - mp.mpf(mc), mp.mpf(sd_c) ** 2 / n + mp.mpf(sd_t) ** 2 / n
        out, prev = look_out(theta, v, 2 * n, mp.mpf(tau2), mp.mpf(theta0), mp.mpf(alpha), S, prev)
        expected.append(out)
    inp = {"metric": metric, "tau_squared": tau2, "theta0": theta0, "alpha": alpha, "gb_tuning_parameter": S, "looks": looks}
    cases.append({"name": "random %d (%s)" % (k, metric), "input": inp, "expected": {"looks": expected}})
write("extra_msprt_always_valid.json", "Extra mSPRT vectors: means and proportions, nonzero theta0, several alphas and tuning parameters.",
      {"relative": 1e-9, "absolute": 1e-12, "fields": {"always_valid_p": {"relative": 1e-9, "absolute": 1e-300},
                                                       "gb_p_value": {"relative": 1e-9, "absolute": 1e-300}}}, cases)
print("wrote", OUT)

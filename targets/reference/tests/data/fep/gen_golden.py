#!/usr/bin/env python3
"""Generate golden.json for the Rust FEP reference tests (targets/reference/tests/fep_*.rs).

Every value is computed by the project's Python reference `fep_ref` (and copies of the
protocol loops of its exp_*.py scripts, which cannot be imported without running them).

Location of the reference: $SPIKEFORGE_SHARED/reference/fep; without the variable, the
first ancestor directory of this script that contains shared/reference/fep/fep_ref.py
(for the usual checkout layout <root>/main/targets/reference/tests/data/fep and
<root>/shared this is <root>/shared, i.e. ../../../../../../shared).

Usage:  python3 gen_golden.py            (needs numpy; writes golden.json next to this file)
"""
import json
import math
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def shared_dir():
    env = os.environ.get("SPIKEFORGE_SHARED")
    if env:
        return env
    d = HERE
    while True:
        cand = os.path.join(d, "shared")
        if os.path.isfile(os.path.join(cand, "reference", "fep", "fep_ref.py")):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            sys.exit("cannot find shared/reference/fep/fep_ref.py; set SPIKEFORGE_SHARED")
        d = parent


sys.path.insert(0, os.path.join(shared_dir(), "reference", "fep"))
import fep_ref  # noqa: E402
from fep_ref import P, mu, var, a_drive, b_drive, W_LTP, W_LTD, dw, triplets, total_dw  # noqa: E402


def enc(v):
    """JSON-safe float: non-finite values become the strings "nan", "inf", "-inf"."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def params_dict(p):
    return {"tau": p.tau, "u0": p.u0, "th": p.th, "ur": p.ur, "gamma": p.gamma,
            "sigma0": p.sigma0, "r0": p.r0, "var_form": p.var_form, "kappa": p.kappa}


# ------------------------------------------------------------------ kernel grid
GRID = [0.5, 1.0, 2.0, 3.7, 5.0, 10.0, 30.0, 100.0, 255.0, 256.0, 700.0]
WS = [0.05, 0.5, 1.0, 1.5, 2.0, 4.0, 12.0]
PARAM_SETS = [
    P(),
    P(var_form="A9"),
    P(var_form="bridge"),
    P(tau=20.0, u0=-65.0, th=-50.0, ur=-80.0, gamma=4.0, sigma0=5.0, r0=0.3, kappa=2.0),
    P(sigma0=15.0, var_form="A9", kappa=0.5),
]


def kernel_block(p):
    pts = []
    coords = [(x, x + s) for x in GRID for s in GRID]
    # edges: pre spike at t2 (dt1 = 0), at t1 (dt1 = dt2), and a zero-length ISI
    coords += [(0.0, 50.0), (50.0, 50.0), (0.0, 0.0)]
    with np.errstate(all="ignore"):
        for x, T in coords:
            xa, Ta = np.array([x]), np.array([T])
            row = {"dt1": x, "dt2": T}
            for name, f in (("mu", mu), ("var", var), ("a", a_drive), ("b", b_drive),
                            ("w_ltp", W_LTP), ("w_ltd", W_LTD)):
                row[name] = enc(f(p, xa, Ta)[0])
            row["dw"] = [enc(dw(p, xa, Ta, w)[0]) for w in WS]
            pts.append(row)
    return {"params": params_dict(p), "ws": WS, "points": pts}


# ------------------------------------------------------------------ protocols
LAGS = [-100, -50, -30, -20, -10, -5, -2, 2, 5, 10, 20, 30, 50, 100]
FREQS = [0.1, 1, 5, 10, 20, 40, 50]


def pairing_total(p, lag, w, n, period):  # exp_stdp.pairing / exp_freq.pairing
    pre = np.arange(n) * period + 200.0
    return total_dw(p, pre, pre + lag, w)


def root(f, lo=0.05, hi=100.0):  # exp_fp.root
    for _ in range(200):
        m = 0.5 * (lo + hi)
        if f(lo) * f(m) <= 0:
            hi = m
        else:
            lo = m
    return 0.5 * (lo + hi)


def closed_form_wstar(p, pre, post):
    tr = triplets(pre, post)
    L = float(np.sum(W_LTP(p, tr[:, 0], tr[:, 1])))
    D = float(np.sum(W_LTD(p, tr[:, 0], tr[:, 1])))
    n = len(tr)
    B = L - (1 - p.r0) / (2 * p.r0) * D
    disc = math.sqrt(B * B + 2 * D * n)
    return (B + disc) / (2 * D) if B >= 0 else n / (disc - B)


def poisson(rate_hz, T_ms, rng):  # exp_rate.poisson
    n = rng.poisson(rate_hz * T_ms / 1000.0)
    return np.sort(rng.uniform(0, T_ms, n))


def refractory(post):
    return post[np.concatenate(([True], np.diff(post) >= 2.0))]


def main():
    out = {"meta": {"generator": "gen_golden.py", "python": platform.python_version(),
                    "numpy": np.__version__, "fep_ref": os.path.abspath(fep_ref.__file__)}}
    out["kernel"] = [kernel_block(p) for p in PARAM_SETS]

    sc = fep_ref.self_check(P())
    out["self_check"] = {"err_a": float(sc[0]), "err_b": float(sc[1]),
                         "mu_t2": float(sc[2][0]), "mu_t1": float(sc[2][1])}

    # exp_stdp.py: 10 pairs at 1 Hz, total dw (Fig. 2F check is sigma0 = 10, w = 1 and 12)
    out["stdp10"] = {"lags": LAGS, "n_pairs": 10, "period": 1000.0, "rows": [
        {"sigma0": s0, "w": w, "total_dw": [pairing_total(P(sigma0=s0), L, w, 10, 1000.0) for L in LAGS]}
        for s0 in (5.0, 10.0, 15.0) for w in (0.5, 1.0, 2.0, 4.0, 12.0)]}

    # exp_freq.py: 60 pairs, mean dw per triplet = total / (n - 1)
    combos = [(10.0, 1.5), (10.0, 1.75), (5.0, 1.0)]
    out["window60"] = {"lags": LAGS, "n_pairs": 60, "period": 1000.0, "rows": [
        {"sigma0": s0, "w": w, "mean_dw": [pairing_total(P(sigma0=s0), L, w, 60, 1000.0) / 59 for L in LAGS]}
        for s0, w in combos]}
    out["frequency60"] = {"freqs": FREQS, "n_pairs": 60, "rows": [
        {"sigma0": s0, "w": w, "lag": L,
         "mean_dw": [pairing_total(P(sigma0=s0), L, w, 60, 1000.0 / f) / 59 for f in FREQS]}
        for s0, w in combos for L in (10, -10)]}

    # exp_fp.py pairing fixed points (bisection exactly as the script)
    p = P()
    fps = []
    for lag in (10, -10, 30):
        pre = np.arange(10) * 1000.0 + 200
        post = pre + lag
        fps.append({"lag": lag, "n_pairs": 10, "period": 1000.0,
                    "w_star": root(lambda w: total_dw(p, pre, post, w)),
                    "w_star_closed": closed_form_wstar(p, pre, post)})
    out["pairing_fixed_points"] = fps

    # fixed numpy Poisson trains: the Rust code must give the same total dw / w* on them
    rng = np.random.default_rng(3)
    trains = []
    for rpre, rpost in ((10, 50), (20, 10)):
        pre = poisson(rpre, 10000.0, rng)
        post = refractory(poisson(rpost, 10000.0, rng))
        trains.append({"pre_rate": rpre, "post_rate": rpost, "pre": pre.tolist(), "post": post.tolist(),
                       "n_triplets": len(triplets(pre, post)),
                       "total_dw": {str(w): total_dw(p, pre, post, w) for w in (1.5, 2.0)},
                       "w_star": root(lambda w: total_dw(p, pre, post, w))})
    out["poisson_trains"] = trains

    # exp_rate.py rate map for sigma0 = 10, w = 2 (same generator use), plus the SEM
    pre_rates, post_rates, T, reps = [1, 5, 10, 20, 50], [1, 2, 5, 10, 20, 30, 50, 80], 10000.0, 20
    rng = np.random.default_rng(1)  # rate_map() seeds a fresh generator per call
    M = np.zeros((len(post_rates), len(pre_rates)))
    S = np.zeros_like(M)
    for i, rpost in enumerate(post_rates):
        for j, rpre in enumerate(pre_rates):
            vals = []
            for _ in range(reps):
                post = refractory(poisson(rpost, T, rng))
                vals.append(total_dw(p, poisson(rpre, T, rng), post, 2.0))
            M[i, j] = np.mean(vals)
            S[i, j] = np.std(vals, ddof=1) / math.sqrt(reps)
    out["rate_map"] = {"w": 2.0, "sigma0": 10.0, "pre_rates": pre_rates, "post_rates": post_rates,
                       "duration_ms": T, "reps": reps, "seed": 1, "mean": M.tolist(), "sem": S.tolist()}

    # exp_fp.py Poisson fixed points: the script's values (one generator, seed 3, sequential)
    # (its pairing part draws no random numbers) and the spread over independent seeds (closed form = bisection root to ~1e-15)
    protos = [(10, 5), (10, 10), (10, 20), (10, 50)]
    rng = np.random.default_rng(3)
    script_vals = []
    for rpre, rpost in protos:
        pre = np.sort(rng.uniform(0, 200000, rng.poisson(rpre * 200)))
        post = refractory(np.sort(rng.uniform(0, 200000, rng.poisson(rpost * 200))))
        script_vals.append(closed_form_wstar(p, pre, post))
    n_seeds = 16
    spread = []
    for (rpre, rpost), sv in zip(protos, script_vals):
        ws = []
        for seed in range(n_seeds):
            r = np.random.default_rng(1000 + seed)
            pre = poisson(rpre, 200000.0, r)
            post = refractory(poisson(rpost, 200000.0, r))
            ws.append(closed_form_wstar(p, pre, post))
        spread.append({"pre_rate": rpre, "post_rate": rpost, "duration_ms": 200000.0,
                       "w_star_script": sv, "n_seeds": n_seeds,
                       "w_star_mean": float(np.mean(ws)), "w_star_sd": float(np.std(ws, ddof=1))})
    out["poisson_fixed_points"] = spread

    with open(os.path.join(HERE, "golden.json"), "w") as fh:
        json.dump(out, fh, indent=1, allow_nan=False)
        fh.write("\n")


if __name__ == "__main__":
    main()

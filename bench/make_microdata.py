#!/usr/bin/env python3
"""Deterministic synthetic national sample for the estimation benchmark.

Writes, under OUT (default bench/out/estimate):

- microdata-<rows>.csv: one row per respondent with the design columns
  stratum, psu, weight and the analysis columns province, sex, urban_rural,
  age_group and qualified.
- margin_province.csv, margin_sex.csv, margin_urban_rural.csv,
  margin_age_group.csv: population totals of the adults aged 18-69 (about
  1.0 billion; the same grand total in every file), the targets of raking.

The design looks like a national round of the survey: 62 strata (the 31
provinces of surveys/provinces-census-2020.csv, codes 11..65, x urban /
rural), a sample allocated between proportional and equal (small provinces
oversampled), PSUs (communities) of about 40 respondents nested in strata,
design weights 1/pi that vary by stratum (and a little by PSU, as a
PPS-drawn community would), a sample that over-represents women, older
adults and rural residents (as household surveys do), so that the weighted
sample totals differ from the margins and raking has work to do. The
qualified share is about 14% overall and varies by province (east above
west), urban/rural, sex and age, with a community effect (intra-class
correlation) so that the design effect is realistic.

Usage: python3 bench/make_microdata.py [--rows N] [--seed S] [--out DIR]
Needs numpy. The same arguments give the same bytes.
"""

import argparse
import csv
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Adults aged 18-69 (the survey's population), about 71% of the 2020 census.
ADULT_POPULATION = 1_000_000_000
# Population shares used for the margins.
MALE_SHARE = 0.510
AGE_SHARES = np.array([0.205, 0.215, 0.225, 0.205, 0.150])  # 18-29 .. 60-69


def provinces():
    path = os.path.join(ROOT, "surveys", "provinces-census-2020.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    codes = np.array([int(r["code"]) for r in rows])
    pop = np.array([float(r["population_2020"]) for r in rows])
    region = np.array([r["region4"] for r in rows])
    return codes, pop, region


def integer_split(total, shares):
    """Integers proportional to shares summing exactly to total (largest remainder)."""
    shares = np.asarray(shares, dtype=float)
    raw = shares / shares.sum() * total
    base = np.floor(raw).astype(np.int64)
    rest = int(total - base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20260301)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "estimate"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    codes, pop, region = provinces()
    n_prov = len(codes)
    assert n_prov == 31

    # Population: adults per province, urban share per province (east more urban).
    prov_adults = pop / pop.sum() * ADULT_POPULATION
    urban_share = np.clip(
        np.where(region == "east", 0.74, np.where(region == "west", 0.55, 0.60))
        + rng.normal(0.0, 0.05, n_prov),
        0.35,
        0.90,
    )
    # Sampling frame (an older register): totals off by a few percent.
    frame_error = rng.normal(0.97, 0.03, (n_prov, 2))

    # Sample allocation: between proportional and equal, then urban/rural
    # within province with rural oversampled a little.
    alloc = 0.6 * prov_adults / prov_adults.sum() + 0.4 / n_prov
    n_prov_sample = integer_split(args.rows, alloc)
    strata = []  # (province index, urban_rural, sample size, frame population)
    for p in range(n_prov):
        u_pop = prov_adults[p] * urban_share[p]
        r_pop = prov_adults[p] - u_pop
        u_frac = urban_share[p] * 0.88 / (urban_share[p] * 0.88 + (1 - urban_share[p]))
        n_u = int(round(n_prov_sample[p] * u_frac))
        n_r = int(n_prov_sample[p] - n_u)
        strata.append((p, 1, n_u, u_pop * frame_error[p, 0]))
        strata.append((p, 2, n_r, r_pop * frame_error[p, 1]))
    assert sum(s[2] for s in strata) == args.rows

    # PSUs of about 40 respondents (30..50), nested in strata; ids unique.
    cols = {k: [] for k in ("stratum", "psu", "weight", "prov", "ur")}
    psu_effect = []
    psu_rows = []
    next_psu = 1
    for p, ur, n_h, frame_pop in strata:
        sizes = []
        left = n_h
        while left > 0:
            s = int(rng.integers(30, 51))
            if left - s < 30:
                s = left if left <= 50 else left // 2
            sizes.append(s)
            left -= s
        m = len(sizes)
        # PPS-like variation of the base weight across the stratum's PSUs,
        # scaled so the stratum's weights add to the frame population.
        factor = np.exp(rng.normal(0.0, 0.2, m))
        sizes = np.array(sizes)
        base = frame_pop / float((factor * sizes).sum())
        for j in range(m):
            psu_rows.append(sizes[j])
            psu_effect.append(rng.normal(0.0, 0.45))
            cols["stratum"].append(codes[p] * 10 + ur)
            cols["psu"].append(next_psu)
            cols["weight"].append(base * factor[j])
            cols["prov"].append(p)
            cols["ur"].append(ur)
            next_psu += 1
    psu_rows = np.array(psu_rows)
    rep = lambda v: np.repeat(np.asarray(v), psu_rows)  # noqa: E731
    stratum = rep(cols["stratum"])
    psu = rep(cols["psu"])
    weight = np.round(rep(cols["weight"]), 6)
    prov = rep(cols["prov"])
    ur = rep(cols["ur"])
    u_psu = rep(psu_effect)
    n = len(stratum)
    assert n == args.rows

    # Respondents: women and older adults over-represented.
    sex = np.where(rng.random(n) < 0.46, 1, 2)
    age_sample = np.array([0.15, 0.19, 0.23, 0.24, 0.19])
    age_group = rng.choice(5, size=n, p=age_sample) + 1

    # Qualified: east > central/northeast > west, urban > rural, men a bit
    # above women, the young above the old, plus a community effect.
    reg = region[prov]
    prov_effect = rng.normal(0.0, 0.15, n_prov)[prov]
    eta = (
        -2.05
        + np.where(reg == "east", 0.35, np.where(reg == "west", -0.30, 0.0))
        + prov_effect
        + np.where(ur == 1, 0.35, -0.45)
        + np.where(sex == 1, 0.12, -0.12)
        + np.array([0.55, 0.35, 0.05, -0.35, -0.75])[age_group - 1]
        + u_psu
    )
    qualified = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int8)

    # Margins: population totals that add to ADULT_POPULATION in every file.
    N = ADULT_POPULATION
    margins = {
        "province": (codes, integer_split(N, prov_adults)),
        "sex": (np.array([1, 2]), integer_split(N, [MALE_SHARE, 1 - MALE_SHARE])),
        "urban_rural": (
            np.array([1, 2]),
            integer_split(N, [(prov_adults * urban_share).sum(), (prov_adults * (1 - urban_share)).sum()]),
        ),
        "age_group": (np.arange(1, 6), integer_split(N, AGE_SHARES)),
    }
    for name, (cats, totals) in margins.items():
        assert totals.sum() == N
        with open(os.path.join(args.out, f"margin_{name}.csv"), "w", newline="") as f:
            f.write(f"{name},total\n")
            for c, t in zip(cats, totals):
                f.write(f"{c},{t}\n")

    path = os.path.join(args.out, f"microdata-{args.rows}.csv")
    province = codes[prov]
    with open(path, "w", newline="") as f:
        f.write("stratum,psu,weight,province,sex,urban_rural,age_group,qualified\n")
        chunk = 200_000
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            lines = [
                f"{s},{p},{w:.6f},{pr},{sx},{u},{ag},{q}\n"
                for s, p, w, pr, sx, u, ag, q in zip(
                    stratum[a:b].tolist(),
                    psu[a:b].tolist(),
                    weight[a:b].tolist(),
                    province[a:b].tolist(),
                    sex[a:b].tolist(),
                    ur[a:b].tolist(),
                    age_group[a:b].tolist(),
                    qualified[a:b].tolist(),
                )
            ]
            f.write("".join(lines))

    wsum = weight.sum()
    print(f"wrote {path}: {n:,} rows, {len(np.unique(stratum))} strata, {psu[-1]:,} PSUs", file=sys.stderr)
    print(
        f"  design weights: min {weight.min():.1f} max {weight.max():.1f} sum {wsum:,.0f} "
        f"(margins {N:,}); unweighted qualified {qualified.mean():.4f}, "
        f"weighted {np.dot(weight, qualified) / wsum:.4f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""svy (PyPI, Rust core) on the estimation benchmark (bench/estimate_compare.sh).

The same pipeline as `literacy estimate` and bench/estimate_compare.R:

    data = svy.read_csv(DATA)                      # a polars DataFrame
    sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
    sample = sample.weighting.rake(controls={province: {...}, sex: {...},
                                             urban_rural: {...}, age_group: {...}})
    sample.estimation.mean("qualified", by=("province", "sex", "urban_rural"))

svy records the raking on the design and its Taylor variance residualizes
the linearized values on the margins as R does. With `bootstrap`,
Rao-Wu rescaled bootstrap replicates are created from the unraked design
(`weighting.create_bs_wgts`) and `rake` then rakes the full-sample weight
and every replicate; the variance is `method="replication"`.

Usage: python3 bench/estimate_compare_svy.py DATA MARGIN_DIR OUT.csv
           [taylor|bootstrap] [REPLICATES] [TOL] [MAX_ITER]
TOL is svy's raking tolerance (largest relative margin error; svy's default
is 1e-4, the benchmark uses 1e-13 as the engine). Prints one line of phase
times (seconds) to stdout; writes one row per domain (province, sex,
urban_rural, estimate, se) to OUT.csv with 17 significant digits.
"""

import csv
import os
import sys
import time

T_START = time.perf_counter()
import svy  # noqa: E402

T_IMPORT = time.perf_counter() - T_START

MARGINS = ["province", "sex", "urban_rural", "age_group"]


def main():
    data_path, margin_dir, out_path = sys.argv[1:4]
    variance = sys.argv[4] if len(sys.argv) > 4 else "taylor"
    replicates = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    tol = float(sys.argv[6]) if len(sys.argv) > 6 else 1e-13
    max_iter = int(sys.argv[7]) if len(sys.argv) > 7 else 1000

    t0 = time.perf_counter()
    data = svy.read_csv(data_path)
    controls = {}
    for v in MARGINS:
        with open(os.path.join(margin_dir, f"margin_{v}.csv"), newline="") as f:
            # The data's columns are integers: the control keys must be too.
            controls[v] = {int(r[v]): float(r["total"]) for r in csv.DictReader(f)}
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
    if variance == "bootstrap":
        sample = sample.weighting.create_bs_wgts(n_reps=replicates, rstate=1)
    t_design = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample = sample.weighting.rake(
        controls=controls, tol=tol, max_iter=max_iter, wgt_name="rk_wgt"
    )
    t_rake = time.perf_counter() - t0

    t0 = time.perf_counter()
    method = "replication" if variance == "bootstrap" else "taylor"
    result = sample.estimation.mean(
        "qualified", by=("province", "sex", "urban_rural"), method=method
    )
    rows = result.to_polars()
    t_mean = time.perf_counter() - t0

    with open(out_path, "w", newline="") as f:
        f.write("province,sex,urban_rural,estimate,se\n")
        for r in rows.iter_rows(named=True):
            f.write(
                f"{r['province']},{r['sex']},{r['urban_rural']},{r['est']!r},{r['se']!r}\n"
            )
    print(
        f"import={T_IMPORT:.3f} read={t_read:.3f} design={t_design:.3f} "
        f"rake={t_rake:.3f} mean={t_mean:.3f} svy={svy.__version__}"
    )


if __name__ == "__main__":
    main()

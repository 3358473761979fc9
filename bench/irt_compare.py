"""IRT benchmark helpers for bench/irt_compare.sh.

Subcommands (all write to / read from OUT, default bench/out/irt):

  generate N K SEED   responses.csv (respondent_id, q01..qK; 0/1) drawn from
                      a 2PL model with known parameters (numpy seed SEED):
                      a ~ U(0.6, 2.2), b ~ N(0, 1) clipped to [-2.5, 2.5],
                      theta ~ N(0, 1); truth.csv holds a, b per item.
  mirt TOL SE         PyPI mirt (Rust core): 2PL by EM on 61 points in
                      [-6, 6], SQUAREM, tolerance TOL; SE "none" or "oakes";
                      then WLE scores. Prints phase times (in process,
                      reading the CSV excluded); writes mirt_params.csv and
                      (without SEs) mirt_wle.csv.
  girth               girth (pure Python): 2PL MML (its own quadrature);
                      prints the time; writes girth_params.csv. No WLE.
  compare             largest |difference| in a, b (and SEs) and theta
                      between the engine's files and each peer's.
"""

import csv
import json
import os
import sys
import time

import numpy as np

OUT = os.environ.get("OUT", "bench/out/irt")
QUAD = int(os.environ.get("QUAD", "61"))


def generate(n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.6, 2.2, k)
    b = np.clip(rng.standard_normal(k), -2.5, 2.5)
    theta = rng.standard_normal(n)
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    x = (rng.uniform(size=(n, k)) < p).astype(np.int8)
    os.makedirs(OUT, exist_ok=True)
    names = [f"q{j + 1:02d}" for j in range(k)]
    with open(f"{OUT}/responses.csv", "w") as f:
        f.write("respondent_id," + ",".join(names) + "\n")
        lines = [f"r{i + 1}," + ",".join("01"[v] for v in row) for i, row in enumerate(x)]
        f.write("\n".join(lines) + "\n")
    with open(f"{OUT}/truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "a", "b"])
        for j in range(k):
            w.writerow([names[j], repr(float(a[j])), repr(float(b[j]))])
    print(f"{n} respondents x {k} items, {x.mean():.3f} right -> {OUT}/responses.csv")


def load():
    t0 = time.perf_counter()
    with open(f"{OUT}/responses.csv") as f:
        names = f.readline().strip().split(",")[1:]
        raw = f.read()
    # Every cell is one character: fast, exact parsing of the 0/1 matrix.
    rows = raw.splitlines()
    ids = [r.split(",", 1)[0] for r in rows]
    body = np.frombuffer("".join(r.split(",", 1)[1] for r in rows).encode(), dtype=np.uint8)
    x = body[body != ord(",")].reshape(len(rows), len(names)).astype(np.int64) - ord("0")
    return ids, names, x, time.perf_counter() - t0


def run_mirt(tol, se):
    import mirt

    ids, names, x, t_read = load()
    t0, c0 = time.perf_counter(), time.process_time()
    r = mirt.fit_mirt(
        x,
        model="2PL",
        n_quadpts=QUAD,
        tol=tol,
        max_iter=20000,
        accelerate="squarem",
        compute_standard_errors=(se != "none"),
        se_method=("oakes" if se != "none" else "auto"),
    )
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
    par = r.model.parameters
    a = np.ravel(par["discrimination"])
    b = np.ravel(par["difficulty"])
    suffix = "" if se == "none" else "_se"
    with open(f"{OUT}/mirt_params{suffix}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "a", "b", "se_a", "se_b"])
        ses = r.standard_errors if se != "none" else None
        for j, name in enumerate(names):
            sa = float(np.ravel(ses["discrimination"])[j]) if ses else float("nan")
            sb = float(np.ravel(ses["difficulty"])[j]) if ses else float("nan")
            w.writerow([name, repr(float(a[j])), repr(float(b[j])), repr(sa), repr(sb)])
    report = {
        "read_s": t_read,
        "fit_s": t_fit,
        "fit_cpu_s": c_fit,
        "log_likelihood": float(r.log_likelihood),
        "iterations": int(getattr(r, "n_iterations", -1)),
        "converged": bool(getattr(r, "converged", False)),
    }
    if se == "none":
        t0, c0 = time.perf_counter(), time.process_time()
        s = mirt.fscores(r, x, method="WLE", n_quadpts=QUAD, n_jobs=os.cpu_count() or 1)
        report["wle_s"] = time.perf_counter() - t0
        report["wle_cpu_s"] = time.process_time() - c0
        theta, sem = np.ravel(s.theta), np.ravel(s.standard_error)
        with open(f"{OUT}/mirt_wle.csv", "w") as f:
            f.write("respondent_id,theta,se\n")
            f.write("".join(f"{i},{t!r},{e!r}\n" for i, t, e in zip(ids, theta.tolist(), sem.tolist())))
    print(json.dumps(report))


def run_girth():
    import girth

    ids, names, x, t_read = load()
    t0, c0 = time.perf_counter(), time.process_time()
    r = girth.twopl_mml(np.ascontiguousarray(x.T), {"quadrature_n": QUAD, "quadrature_bounds": (-6.0, 6.0)})
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
    with open(f"{OUT}/girth_params.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", "a", "b", "se_a", "se_b"])
        for j, name in enumerate(names):
            a = float(np.ravel(r["Discrimination"])[j])
            b = float(np.ravel(r["Difficulty"])[j])
            w.writerow([name, repr(a), repr(b), "nan", "nan"])
    print(json.dumps({"read_s": t_read, "fit_s": t_fit, "fit_cpu_s": c_fit}))


def read_params_csv(path):
    with open(path) as f:
        return {r["item"]: r for r in csv.DictReader(f)}


def read_engine(path):
    with open(path) as f:
        doc = json.load(f)
    return {
        i["id"]: {
            "a": i["a"],
            "b": i["b"],
            "se_a": i["se_a"] if i["se_a"] is not None else float("nan"),
            "se_b": i["se_b"] if i["se_b"] is not None else float("nan"),
        }
        for i in doc["items"]
    }, doc


def read_scores(path):
    with open(path) as f:
        return {r["respondent_id"]: (float(r["theta"] or "nan"), float(r["se"] or "nan")) for r in csv.DictReader(f)}


def maxdiff(x, y, key):
    return max(abs(float(x[i][key]) - float(y[i][key])) for i in x)


def compare():
    engine, doc = read_engine(f"{OUT}/engine_params.json")
    truth = read_params_csv(f"{OUT}/truth.csv")
    print(f"engine log-likelihood {doc['log_likelihood']:.6f}, E-steps {doc['convergence']['iterations']}")
    print(f"engine vs truth: max |a| {maxdiff(engine, truth, 'a'):.3e}, max |b| {maxdiff(engine, truth, 'b'):.3e}")
    for peer in ["mirt", "girth"]:
        path = f"{OUT}/{peer}_params.csv"
        if not os.path.exists(path):
            continue
        p = read_params_csv(path)
        print(f"engine vs {peer}: max |a| {maxdiff(engine, p, 'a'):.3e}, max |b| {maxdiff(engine, p, 'b'):.3e}")
    if os.path.exists(f"{OUT}/mirt_params_se.csv") and os.path.exists(f"{OUT}/engine_params_se.json"):
        e, _ = read_engine(f"{OUT}/engine_params_se.json")
        p = read_params_csv(f"{OUT}/mirt_params_se.csv")
        print(
            f"engine vs mirt (with SEs): max |a| {maxdiff(e, p, 'a'):.3e}, max |b| {maxdiff(e, p, 'b'):.3e}, "
            f"max |se_a| {maxdiff(e, p, 'se_a'):.3e}, max |se_b| {maxdiff(e, p, 'se_b'):.3e}"
        )
    if os.path.exists(f"{OUT}/mirt_wle.csv") and os.path.exists(f"{OUT}/engine_wle.csv"):
        e, m = read_scores(f"{OUT}/engine_wle.csv"), read_scores(f"{OUT}/mirt_wle.csv")
        dt = [abs(e[i][0] - m[i][0]) for i in e]
        ds = [abs(e[i][1] - m[i][1]) for i in e]
        worst = max(e, key=lambda i: abs(e[i][0] - m[i][0]))
        print(
            f"engine vs mirt WLE: max |theta| {max(dt):.3e} (respondent {worst}: {e[worst][0]} vs {m[worst][0]}), "
            f"max |se| {max(ds):.3e}, respondents differing by > 5e-4: {sum(d > 5e-4 for d in dt)}"
        )


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "mirt":
        run_mirt(float(sys.argv[2]), sys.argv[3])
    elif cmd == "girth":
        run_girth()
    elif cmd == "compare":
        compare()

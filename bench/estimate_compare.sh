#!/usr/bin/env bash
# The whole estimation pipeline on one 1,000,000-row national sample, side by
# side in one run: `literacy estimate` (release binary), R's survey package
# (bench/estimate_compare.R) and svy from PyPI (bench/estimate_compare_svy.py).
#
# Pipeline: rake the design weights to 4 margins (province, sex, urban_rural,
# age_group), then the qualified share in each of the 124 domains province x
# sex x urban/rural, (a) with Taylor SE (residualized on the raking, as R)
# and (b) with 100 Rao-Wu bootstrap replicates, every replicate re-raked.
# All three rake to the same tight convergence (the engine's fixed 1e-13
# relative margin error; R's epsilon 1e-15 of the weight total; svy's tol
# 1e-13), so the numbers can agree to rounding.
#
# Prints the wall times (best of RUNS for the engine and svy, one run of R
# by default), the ratios, and for every domain the largest absolute and
# relative differences of the estimate and SE between the tools. Bootstrap
# SEs come from each tool's own random replicates: they are compared by
# their ratio to the Taylor SE, not digit by digit.
#
# Usage: bench/estimate_compare.sh [rows]        (results: bench/RESULTS.md)
# Environment:
#   LITERACY_BIN   engine binary (default target/release/literacy, built here)
#   RUNS           runs of the engine and svy, best kept (default 3)
#   R_RUNS         runs of R (default 1: about 10 minutes each at 1e6 rows)
#   BOOT_TIMEOUT   seconds a peer's bootstrap may take on the full file before
#                  it is timed on 100,000 rows instead (default 900)
#   SKIP_R=1, SKIP_SVY=1  leave a peer out
#   OUT            where data and results go (default bench/out/estimate)
set -uo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
small=100000
runs=${RUNS:-3}
r_runs=${R_RUNS:-1}
boot_timeout=${BOOT_TIMEOUT:-900}
out=${OUT:-bench/out/estimate}
mkdir -p "$out"
if [ -z "${LITERACY_BIN:-}" ]; then
  cargo build --release --quiet || exit 1
  bin=$PWD/target/release/literacy
else
  bin=$LITERACY_BIN
fi
python3 -c "import numpy" 2>/dev/null || pip install --quiet numpy
python3 -c "import svy" 2>/dev/null || pip install --quiet svy==0.35.0
for n in "$rows" "$small"; do
  [ -f "$out/microdata-$n.csv" ] || python3 bench/make_microdata.py --rows "$n" --out "$out" || exit 1
done
log=$out/times.txt
: > "$log"

now() { date +%s.%N; }
# timed NAME SIZE OUTFILE CMD...: runs CMD with stdout to OUTFILE.stdout and
# records "NAME SIZE seconds peak_KiB status" in $log. Returns CMD's status.
timed() {
  local name=$1 size=$2 file=$3; shift 3
  local t0 t1 status
  t0=$(now)
  /usr/bin/time -f %M -o "$out/.rss" "$@" > "$file.stdout" 2> "$file.stderr"
  status=$?
  t1=$(now)
  echo "$name $size $(python3 -c "print(f'{$t1-$t0:.3f}')") $(tail -n 1 "$out/.rss" | grep -Eo '^[0-9]+$' || echo 0) $status" >> "$log"
  return $status
}

margins=(--margin "$out/margin_province.csv" --margin "$out/margin_sex.csv"
  --margin "$out/margin_urban_rural.csv" --margin "$out/margin_age_group.csv")
# set_cmd TOOL VARIANCE SIZE RESULT: the command line of one tool in `cmd`.
# The engine writes its CSV to stdout; the peers write RESULT and print their
# phase times. All rake to the same tight convergence.
set_cmd() {
  local data="$out/microdata-$3.csv"
  case $1 in
    engine) cmd=("$bin" estimate --data "$data" --weight weight --strata stratum --psu psu
      --outcome qualified --by province,sex,urban_rural "${margins[@]}"
      --variance "$2" --replicates 100 --seed 1 --format csv) ;;
    r) cmd=(Rscript bench/estimate_compare.R "$data" "$out" "$4" "$2" 100 1e-15 1000) ;;
    svy) cmd=(python3 bench/estimate_compare_svy.py "$data" "$out" "$4" "$2" 100 1e-13 1000) ;;
  esac
}
# run TOOL VARIANCE SIZE RUNS [TIMEOUT]: RUNS timed runs (stopping at the
# first failure), logged as TOOL_taylor or TOOL_boot; the domain results go
# to $out/NAME-SIZE.csv.
run() {
  local tool=$1 variance=$2 size=$3 n=$4 limit=${5:-}
  local name=${tool}_${variance/bootstrap/boot}
  local base=$out/$name-$size
  set_cmd "$tool" "$variance" "$size" "$base.csv"
  for i in $(seq "$n"); do
    echo "  $name on $size rows (run $i of $n)${limit:+, time limit ${limit}s}" >&2
    if [ -n "$limit" ]; then
      timed "$name" "$size" "$base" timeout "$limit" "${cmd[@]}"
    else
      timed "$name" "$size" "$base" "${cmd[@]}"
    fi || { echo "  $name failed: $(tail -n 3 "$base.stderr")" >&2; return 1; }
    if [ "$tool" = engine ]; then cp "$base.stdout" "$base.csv"; fi
  done
}
# The bootstrap of a peer on the full file within BOOT_TIMEOUT (each run),
# else on 100,000 rows.
peer_boot() { # peer_boot TOOL RUNS
  run "$1" bootstrap "$rows" "$2" "$boot_timeout" && return 0
  echo "  $1 bootstrap did not finish on $rows rows: timing it on $small rows" >&2
  run "$1" bootstrap "$small" "$2"
}

echo "engine: $bin" >&2
rm -f "$out"/engine_*.csv "$out"/r_*.csv "$out"/svy_*.csv
for size in "$rows" "$small"; do  # 100k rows too, for ratios against a peer timed there
  run engine taylor "$size" "$runs"
  run engine bootstrap "$size" "$runs"
done
# The weighting report (iterations, weights) of the full run, untimed.
set_cmd engine taylor "$rows"
"${cmd[@]:0:${#cmd[@]}-1}" json > "$out/engine_taylor-$rows.json" 2>/dev/null
if [ "${SKIP_SVY:-0}" != 1 ]; then
  run svy taylor "$rows" "$runs"
  run svy taylor "$small" "$runs"
  peer_boot svy "$runs"
fi
if [ "${SKIP_R:-0}" != 1 ]; then
  run r taylor "$rows" "$r_runs"
  run r taylor "$small" "$r_runs"
  peer_boot r "$r_runs"
fi

VERSIONS="$("$bin" --version 2>/dev/null); $(rustc --version); $(R --version | head -n 1 | cut -d' ' -f1-3);\
 survey $(Rscript -e 'cat(format(packageVersion("survey")))'); data.table $(Rscript -e 'cat(format(packageVersion("data.table")))');\
 $(python3 -c 'import sys, svy, svy_rs, polars, numpy; print(f"python {sys.version.split()[0]}; svy {svy.__version__} (svy-rs {svy_rs.__version__}); polars {polars.__version__}; numpy {numpy.__version__}")' 2>/dev/null);\
 $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
export VERSIONS
python3 - "$out" "$rows" "$small" <<'PY'
import csv, math, os, statistics, sys
out, rows, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

times = {}  # (name, size) -> list of (seconds, peak KiB)
failed = []
with open(os.path.join(out, "times.txt")) as f:
    for line in f:
        name, size, sec, kib, status = line.split()
        if status == "0":
            times.setdefault((name, int(size)), []).append((float(sec), int(kib)))
        else:
            why = "timed out" if status == "124" else f"failed (exit {status})"
            failed.append(f"{name} on {int(size):,} rows {why} after {float(sec):.1f} s")

def best(name, size):
    t = times.get((name, size))
    return min(t) if t else None

def phases(name, size):
    path = os.path.join(out, f"{name}-{size}.stdout")
    if name.startswith("engine") or not os.path.exists(path):
        return ""
    with open(path) as f:
        lines = [l.strip() for l in f if "=" in l]
    return lines[-1] if lines else ""

def load(name, size):
    path = os.path.join(out, f"{name}-{size}.csv")
    if not os.path.exists(path) or (name, size) not in times:
        return None
    with open(path, newline="") as f:
        return {
            tuple(int(float(r[c])) for c in ("province", "sex", "urban_rural")):
                (float(r["estimate"]), float(r["se"]))
            for r in csv.DictReader(f)
        }

print()
print(f"== times (wall clock, whole process; best of the runs) ==")
print(f"{'tool':<14}{'rows':>10}{'runs':>6}{'seconds':>11}{'peak MiB':>10}  phases of the last run (s, inside the process)")
for (name, size), t in sorted(times.items(), key=lambda kv: (kv[0][1] != rows, kv[0][0])):
    sec, kib = min(t)
    print(f"{name:<14}{size:>10,}{len(t):>6}{sec:>11.3f}{kib / 1024:>10.0f}  {phases(name, size)}")
for line in failed:
    print(line)

print()
print("== ratios (peer time / engine time, same rows) ==")
for variant in ("taylor", "boot"):
    for peer in ("r", "svy"):
        for size in (rows, small):
            e, p = best(f"engine_{variant}", size), best(f"{peer}_{variant}", size)
            if e and p:
                print(f"{variant:<7} {peer:<4} {size:>10,} rows: {p[0]:9.3f} s / {e[0]:7.3f} s = {p[0] / e[0]:8.1f}x")
for peer in ("r", "svy"):
    for size in (rows, small):
        e = [best(f"engine_{v}", size) for v in ("taylor", "boot")]
        p = [best(f"{peer}_{v}", size) for v in ("taylor", "boot")]
        if all(e) and all(p):
            te, tp = e[0][0] + e[1][0], p[0][0] + p[1][0]
            print(f"both    {peer:<4} {size:>10,} rows: {tp:9.3f} s / {te:7.3f} s = {tp / te:8.1f}x  (Taylor run + bootstrap run)")

print()
print("versions:", os.environ.get("VERSIONS", ""))

def compare(a, b, label, se=True):
    if a is None or b is None:
        return
    keys = sorted(set(a) | set(b))
    missing = [k for k in keys if k not in a or k not in b]
    if missing:
        print(f"{label}: domains only in one: {missing[:5]}")
    worst = {}
    for i, what in enumerate(("estimate", "se")):
        if what == "se" and not se:
            continue
        d = [(abs(a[k][i] - b[k][i]), abs(a[k][i] - b[k][i]) / abs(b[k][i]) if b[k][i] else math.inf, k)
             for k in keys if k in a and k in b]
        da, dr = max(d), max(d, key=lambda x: x[1])
        worst[what] = (da, dr)
        print(f"{label:<34}{what:<9} {len(d):>4} domains  max abs {da[0]:.3e} {str(da[2]):<14}  max rel {dr[1]:.3e} {dr[2]}")
    return worst

print()
print("== Taylor: estimate and SE in every domain ==")
for size in (rows, small):
    e, r, s = load("engine_taylor", size), load("r_taylor", size), load("svy_taylor", size)
    compare(e, r, f"engine vs R ({size:,} rows)")
    compare(e, s, f"engine vs svy ({size:,} rows)")
    compare(s, r, f"svy vs R ({size:,} rows)")

print()
print("== Bootstrap (100 replicates, each tool's own random draws) ==")
for size in (rows, small):
    e = load("engine_boot", size)
    taylor = load("engine_taylor", size)
    for peer in ("r_boot", "svy_boot"):
        p = load(peer, size)
        compare(e, p, f"engine vs {peer[:-5]} ({size:,} rows)", se=False)
    for name in ("engine_boot", "r_boot", "svy_boot"):
        b = load(name, size)
        if b is None or taylor is None:
            continue
        ratios = sorted(b[k][1] / taylor[k][1] for k in b)
        print(f"{name:<12} ({size:>9,} rows) bootstrap SE / Taylor SE over {len(ratios)} domains: "
              f"median {statistics.median(ratios):.3f}, 5%-95% {ratios[len(ratios) // 20]:.3f}-{ratios[-1 - len(ratios) // 20]:.3f}")
    eb, rb, sb = load("engine_boot", size), load("r_boot", size), load("svy_boot", size)
    for x, y, lab in ((eb, rb, "engine/R"), (eb, sb, "engine/svy"), (sb, rb, "svy/R")):
        if x and y:
            ratios = sorted(x[k][1] / y[k][1] for k in x if k in y)
            print(f"bootstrap SE ratio {lab:<11}({size:>9,} rows): median {statistics.median(ratios):.3f}, "
                  f"min {ratios[0]:.3f}, max {ratios[-1]:.3f}")
PY

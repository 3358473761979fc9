#!/usr/bin/env bash
# 2PL calibration and WLE scoring of 100,000 respondents x 60 items, side by
# side in one run: `literacy irt calibrate --model 2pl` and `literacy irt
# score --method wle` (release binary), PyPI mirt (Rust core) and girth (pure
# Python), all on the same CSV (bench/irt_compare.py generates it from a 2PL
# model with a fixed seed into the git-ignored bench/out/irt/).
#
# Calibration is timed without standard errors (the fair comparison: girth
# has none), then with them for the engine and mirt (both the observed
# information by Oakes' identity). EM runs to a tight tolerance on both
# sides (TOL, default 1e-8; mirt with SQUAREM acceleration: its plain EM
# stops short of the maximum), on 61 quadrature points: the engine's
# rectangular grid on [-6, 6] (R mirt's), mirt's Gauss-Hermite nodes.
#
# Prints wall and CPU (user + sys) seconds and peak memory of each command,
# and the largest |difference| in a, b and the WLE theta between the engine
# and each peer. The peers' fit and scoring times are also timed inside the
# Python process (reading the CSV excluded: `*_s` wall, `*_cpu_s` CPU).
#
# Usage: bench/irt_compare.sh [respondents] [items]   (results: bench/RESULTS.md)
# Environment:
#   LITERACY_BIN  engine binary (default: built here, target/release/literacy)
#   RUNS          runs of the engine's commands, best kept (default 3)
#   PEER_RUNS     runs of mirt (with and without SEs), best kept (default 1)
#   TOL           EM tolerance of the engine and mirt (default 1e-8)
#   QUAD          quadrature points of both (default 61)
#   VENV          Python venv with mirt and girth (default /tmp/bench-venv,
#                 created with `pip install mirt numpy girth` if missing)
#   SKIP_MIRT_SE=1, SKIP_GIRTH=1   leave those runs out
#   GIRTH_TIMEOUT seconds girth may take (default 1800)
#   OUT           data and results (default bench/out/irt)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
k=${2:-60}
runs=${RUNS:-3}
peer_runs=${PEER_RUNS:-1}
tol=${TOL:-1e-8}
quad=${QUAD:-61}
venv=${VENV:-/tmp/bench-venv}
out=${OUT:-bench/out/irt}
export OUT=$out QUAD=$quad
mkdir -p "$out"
if [ -z "${LITERACY_BIN:-}" ]; then
  cargo build --release --quiet || exit 1
  bin=${CARGO_TARGET_DIR:-$PWD/target}/release/literacy
else
  bin=$LITERACY_BIN
fi
py=$venv/bin/python
if ! "$py" -c "import mirt, numpy" 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet mirt numpy || exit 1
  "$venv/bin/pip" install --quiet girth || echo "girth did not install: left out"
fi
data=$out/responses.csv
[ -f "$data" ] || "$py" bench/irt_compare.py generate "$n" "$k" 20261129 || exit 1
log=$out/times.txt
: > "$log"

# timed NAME CMD...: runs CMD (stdout to $out/NAME.stdout, stderr to
# $out/NAME.stderr) and appends "NAME wall cpu peak_KiB status" to $log.
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/.time" "$@" > "$out/$name.stdout" 2> "$out/$name.stderr"
  local status=$?
  read -r wall user sys rss < <(tail -n 1 "$out/.time")
  echo "$name $wall $(python3 -c "print(f'{$user+$sys:.2f}')") $rss $status" >> "$log"
  return $status
}
# best N NAME CMD...: N runs of CMD, each logged as NAME; the best is
# reported (for a peer: its in-process times of the fastest run, kept in
# NAME.stdout).
best() {
  local n=$1 name=$2; shift 2
  local keep=""
  for _ in $(seq "$n"); do
    timed "$name" "$@" || return 1
    local wall
    wall=$(tail -n 1 "$log" | cut -d' ' -f2)
    if [ -z "$keep" ] || python3 -c "import sys; sys.exit(not $wall < $keep)"; then
      keep=$wall
      cp "$out/$name.stdout" "$out/$name.best"
    fi
  done
  mv "$out/$name.best" "$out/$name.stdout"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
best "$runs" engine_calibrate "$bin" irt calibrate --responses "$data" --model 2pl --no-se \
  --tolerance "$tol" --quadrature "$quad" --out "$out/engine_params.json" || exit 1
timed engine_calibrate_se "$bin" irt calibrate --responses "$data" --model 2pl \
  --tolerance "$tol" --quadrature "$quad" --out "$out/engine_params_se.json" || exit 1
best "$runs" engine_wle "$bin" irt score --params "$out/engine_params.json" --responses "$data" \
  --method wle --out "$out/engine_wle.csv" || exit 1
best "$peer_runs" mirt "$py" bench/irt_compare.py mirt "$tol" none
[ -n "${SKIP_MIRT_SE:-}" ] || best "$peer_runs" mirt_se "$py" bench/irt_compare.py mirt "$tol" oakes
if [ -z "${SKIP_GIRTH:-}" ] && "$py" -c "import girth" 2>/dev/null; then
  timed girth timeout "${GIRTH_TIMEOUT:-1800}" "$py" bench/irt_compare.py girth
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "command               wall s   cpu s   peak MiB  (best of the runs)"
python3 - "$log" <<'EOF'
import sys
best = {}
for line in open(sys.argv[1]):
    name, wall, cpu, rss, status = line.split()
    if status != "0":
        print(f"{name:20s} failed (status {status})")
        continue
    wall, cpu = float(wall), float(cpu)
    if name not in best or wall < best[name][0]:
        best[name] = (wall, cpu, int(rss) / 1024)
for name, (wall, cpu, rss) in best.items():
    print(f"{name:20s} {wall:7.2f} {cpu:7.2f} {rss:9.0f}")
# Ratios: the peers' in-process times (CSV reading and imports excluded)
# over the engine's whole commands (reading included).
import json, os
out = os.path.dirname(sys.argv[1])
def peer(name):
    try:
        return json.loads(open(f"{out}/{name}.stdout").read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None
rows = [
    ("2PL calibration, no SE", "engine_calibrate", "mirt", "fit"),
    ("2PL calibration, SE", "engine_calibrate_se", "mirt_se", "fit"),
    ("WLE scoring", "engine_wle", "mirt", "wle"),
    ("2PL calibration (girth)", "engine_calibrate", "girth", "fit"),
]
print()
print("what                       engine wall/cpu   peer wall/cpu     ratio wall/cpu")
for label, e, p, phase in rows:
    r = peer(p)
    if e not in best or not r or f"{phase}_s" not in r:
        continue
    (ew, ec, _), pw, pc = best[e], r[f"{phase}_s"], r[f"{phase}_cpu_s"]
    print(f"{label:26s} {ew:7.2f} {ec:7.2f}   {pw:7.2f} {pc:7.2f}   {pw / ew:6.1f}x {pc / ec:6.1f}x")
EOF
for peer in mirt mirt_se girth; do
  [ -s "$out/$peer.stdout" ] && echo "$peer in process: $(tail -n 1 "$out/$peer.stdout")"
done
echo
"$py" bench/irt_compare.py compare

#!/usr/bin/env bash
# Throughput and peak memory of `literacy score` on a 1,000,000-row answer
# file of surveys/csl-2026, next to reading and copying the same file (this
# machine's file-streaming bandwidth, measured the same way). Also scores a
# 100,000-row prefix to show that memory does not grow with the file.
# Usage: bench/score_cli.sh [rows]   (results: bench/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
out=bench/out
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/literacy
if [ ! -f "$out/answers-$rows.csv" ]; then
  "$bin" simulate --respondents "$rows" --seed 1 --out "$out/sim" 2>/dev/null
  mv "$out/sim/answers.csv" "$out/answers-$rows.csv"
fi
input="$out/answers-$rows.csv"
bytes=$(stat -c %s "$input")
head -n 100001 "$input" > "$out/answers-100k.csv"

now() { date +%s.%N; }
best_of_3() { # prints the best wall time of three runs of "$@"
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
    best=$(python3 -c "t=$t1-$t0; b='$best'; print(min(t, float(b)) if b else t)")
  done
  echo "$best"
}
peak_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

score() { "$bin" score --instrument surveys/csl-2026 --responses "$1" --out "$out/scored.csv"; }
t_score=$(best_of_3 score "$input")
t_cat=$(best_of_3 sh -c "cat '$input' > /dev/null")
t_cp=$(best_of_3 cp "$input" "$out/copy.csv")
rss_full=$(peak_kib "$bin" score --instrument surveys/csl-2026 --responses "$input" --out "$out/scored.csv")
rss_100k=$(peak_kib "$bin" score --instrument surveys/csl-2026 --responses "$out/answers-100k.csv" --out "$out/scored-100k.csv")
rm -f "$out/copy.csv"

python3 - "$rows" "$bytes" "$t_score" "$t_cat" "$t_cp" "$rss_full" "$rss_100k" <<'PY'
import sys
rows, size = int(sys.argv[1]), int(sys.argv[2])
t_score, t_cat, t_cp = map(float, sys.argv[3:6])
rss_full, rss_100k = int(sys.argv[6]), int(sys.argv[7])
mb = size / 1e6
print(f"input: {rows:,} rows, {mb:.1f} MB")
print(f"literacy score: {t_score:.3f} s  {rows / t_score:,.0f} respondents/s  {mb / t_score:,.1f} MB/s")
print(f"cat > /dev/null: {t_cat:.3f} s  {mb / t_cat:,.1f} MB/s")
print(f"cp:              {t_cp:.3f} s  {mb / t_cp:,.1f} MB/s   (score / cp = {t_score / t_cp:.2f}x)")
print(f"peak RSS: {rss_full / 1024:.1f} MiB for {rows:,} rows, {rss_100k / 1024:.1f} MiB for 100,000 rows")
PY

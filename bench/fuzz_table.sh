#!/usr/bin/env bash
# Fuzzes the one tabular reader (crates/table) with cargo-fuzz (libFuzzer)
# for a bounded time, seeded with the hostile corpus; not part of CI.
# Usage: bench/fuzz_table.sh [seconds]      (default 600; result: bench/RESULTS.md)
# Needs cargo-fuzz (installed here if missing) and a nightly-capable rustc
# (RUSTC_BOOTSTRAP=1 lets the stable toolchain build with -Z flags).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
corpus=target/fuzz-corpus/table
mkdir -p "$corpus"
cp tests/hostile/*.xlsx tests/hostile/*.ods "$corpus"/ 2>/dev/null || true
# A few text seeds: CRLF, quotes, GBK, UTF-16.
printf 'id,a\r\n1,"x\r\ny"\r\n2,z\r\n' > "$corpus/crlf.csv"
printf 'id,a\n1,"open\n2,b\n' > "$corpus/quote.csv"
printf 'id\n\xbe\xa9-R1\n' > "$corpus/gbk.csv"
printf '\xff\xfei\x00d\x00\n\x001\x00\n\x00' > "$corpus/utf16.csv"
cd fuzz
log=../target/fuzz-table.log
RUSTC_BOOTSTRAP=1 cargo fuzz run table "../$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 > "$log" 2>&1
status=$?
# The last coverage line, the run count, and any crash.
grep -E '^#[0-9]+' "$log" | tail -n 1
grep -E '^Done|SUMMARY|panicked|crash-' "$log" | head -n 10
echo "inputs in the corpus: $(ls "../$corpus" | wc -l); full log: target/fuzz-table.log"
exit $status

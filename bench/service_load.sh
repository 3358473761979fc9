#!/usr/bin/env bash
# The service under load: sustained online submits (requests/s, p50, p99,
# every answer checked to be 201) and a 100,000-row provincial batch (dry
# run and commit, end to end), against `literacy serve --demo` on SQLite and
# on PostgreSQL. Needs wrk, jq, curl, psql (and sqlite3 for the row check).
#
#   bench/service_load.sh [sqlite|postgres|both]
#
# Environment (defaults): DURATION=20 (s per submit run), CONNS="8 32 128"
# (wrk connections per run; CONNS="" times the batches only), WRK_THREADS=2,
# MAX_RATE_SQLITE=3000 and MAX_RATE_POSTGRES=1200 (submits/s the pool of
# pre-started sessions is sized for: a run that runs out of sessions fails;
# sessions start at ~700-1,000/s, so they take longer than the runs),
# BATCH_ROWS=100000, BATCH_REPEAT=2,
# LITERACY_TEST_PG=postgres://postgres@127.0.0.1:5432/test (trust auth; a
# fresh database is created next to it and dropped after),
# PG_PARAMS=sslmode=disable (the server's connection parameters: over the
# loopback, TLS costs CPU and protects nothing; PG_PARAMS= keeps libpq's
# default, which encrypts when the server offers TLS, as Debian's does),
# CARGO_TARGET_DIR=target, SERVE_WORKERS (literacy serve --workers),
# PROFILE_DIR (if set, a system-wide `perf record -a -g` during each submit
# run is written there), SESSIONS=api (each session started through the API,
# as respondents do) or SESSIONS=copy (inserted at once by
# bench/service_sessions_copy.py, their tokens signed with the bench secret:
# seconds instead of a minute a run, for quick comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
CONNS=${CONNS-"8 32 128"}
WRK_THREADS=${WRK_THREADS:-2}
MAX_RATE_SQLITE=${MAX_RATE_SQLITE:-3000}
MAX_RATE_POSTGRES=${MAX_RATE_POSTGRES:-1200}
BATCH_ROWS=${BATCH_ROWS:-100000}
BATCH_REPEAT=${BATCH_REPEAT:-2}
PG_ADMIN=${LITERACY_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
PG_PARAMS=${PG_PARAMS-sslmode=disable}
SESSIONS=${SESSIONS:-api}
BACKENDS=${1:-both}
TARGET=${CARGO_TARGET_DIR:-target}
export LITERACY_JWT_SECRET="a bench secret of more than thirty-two bytes"
export WRK_THREADS

for tool in wrk jq curl psql; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y $tool)" >&2; exit 2; }
done

cargo build --release --bin literacy
BIN="$TARGET/release/literacy"

WORK=$(mktemp -d /tmp/literacy-service-bench.XXXXXX)
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
SUMMARY="$WORK/summary"
: >"$SUMMARY"
FAILED=0

echo "machine: $(nproc) cores, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# The answers of one respondent: every item of csl-2026 answered (options
# cycle through each item's codes, multiple-select items tick two), as the
# submit body and as the answer columns of the batch CSV.
INSTRUMENT=surveys/csl-2026/instrument.json
ANSWERS_JQ='[.items | to_entries[] | .key as $k | .value |
  {(.id): (if .type == "true_false" then ([1, 2, 8][$k % 3])
           elif .type == "numeric" then ((.range.min + .range.max) / 2 | floor)
           elif .type == "multiple_select" then [.options[0].code, .options[1].code]
           else .options[$k % (.options | length)].code end)}] | add'
jq -c "{answers: ($ANSWERS_JQ), demographics: {province: 44, urban_rural: 1, sex: 2, birth_year: 1985, education: 3, occupation: 4}}" \
  "$INSTRUMENT" >"$WORK/body.json"
HEADER=$(jq -r '["respondent_id"] + [.items[].id] + ["province","urban_rural","sex","birth_year","education","occupation","mode"] | join(",")' "$INSTRUMENT")
ROW_ANSWERS=$(jq -r "($ANSWERS_JQ) | [.[] | if type == \"array\" then map(tostring) | join(\";\") else tostring end] | join(\",\")" "$INSTRUMENT")

# A valid batch of province 11: respondents <prefix>0000000...
batch_csv() { # prefix rows file
  { echo "$HEADER"
    awk -v p="$1" -v n="$2" -v a="$ROW_ANSWERS" 'BEGIN {
      for (r = 0; r < n; r++)
        printf "%s%07d,%s,11,%d,%d,%d,3,4,paper\n", p, r, a, 1 + r % 2, 1 + int(r / 2) % 2, 1960 + r % 40
    }'
  } >"$3"
}

start_server() { # database-url
  "$BIN" serve --database "$1" --bind 127.0.0.1:0 --demo --demo-respondents 2000 \
    ${SERVE_WORKERS:+--workers "$SERVE_WORKERS"} >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 600); do
    grep -q '^listening on ' "$WORK/server.out" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.1
  done
  BASE=$(awk '/^listening on /{print $3}' "$WORK/server.out")
  UPLOADER_PASSWORD=$(awk '$1 == "uploader-11" {print $3}' "$WORK/server.out")
  echo "server $SERVER_PID at $BASE ($1)"
}

stop_server() {
  echo "server peak RSS: $(awk '/VmHWM/{print $2, $3}' /proc/"$SERVER_PID"/status)"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

count_responses() { # backend url
  local sql="SELECT count(*) FROM responses"
  case $1 in
    sqlite) sqlite3 "${2#sqlite://}" "$sql" ;;
    postgres) psql "$2" -Atc "$sql" ;;
  esac
}

make_sessions() { # count database-url
  rm -f "$WORK"/sessions.[0-9]*
  local t0 n=0; t0=$(date +%s.%N)
  if [ "$SESSIONS" = copy ]; then
    python3 bench/service_sessions_copy.py "$1" "$2" 2026 "$WORK/sessions.txt"
    echo "sessions: $1 inserted and signed in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
    return
  fi
  SESSIONS_DIR="$WORK" SESSIONS_PER_THREAD=$(( $1 / WRK_THREADS + 1 )) \
    wrk -t"$WRK_THREADS" -c16 -d3600s -s bench/service_sessions.lua "$BASE" >"$WORK/sessions.log" 2>&1 &
  local wrk_pid=$!
  while (( n < $1 )) && kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 0.5
    n=$(cat "$WORK"/sessions.[0-9]* 2>/dev/null | wc -l)
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  cat "$WORK"/sessions.[0-9]* >"$WORK/sessions.txt"
  n=$(wc -l <"$WORK/sessions.txt")
  echo "sessions: $n started in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s ($(grep -o 'failed=[0-9]*' "$WORK/sessions.log"))"
  (( n >= $1 )) || { echo "could not start $1 sessions" >&2; cat "$WORK/sessions.log" >&2; exit 1; }
}

# CPU time (clock ticks, user + system) of the server, of the PostgreSQL
# processes and of the whole machine: printed per submit, to say where a
# submit's time goes.
cpu_ticks() {
  local server pg=0 total
  server=$(awk '{print $14 + $15}' /proc/"$SERVER_PID"/stat)
  for p in $(pgrep -u postgres 2>/dev/null); do
    pg=$(( pg + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0) ))
  done
  total=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat)
  echo "$server $pg $total"
}

cpu_per_submit() { # before after submits
  local hz; hz=$(getconf CLK_TCK)
  read -r s0 p0 t0 <<<"$1"; read -r s1 p1 t1 <<<"$2"
  awk -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v t=$((t1 - t0)) -v n="$3" -v hz="$hz" 'BEGIN {
    if (n == 0) n = 1
    printf "cpu per submit: server %.3f ms, postgres %.3f ms, rest (wrk, kernel, others) %.3f ms, machine %.3f ms\n",
      1000 * s / hz / n, 1000 * p / hz / n, 1000 * (t - s - p) / hz / n, 1000 * t / hz / n }'
}

submit_runs() { # backend url
  local backend=$1 url=$2 run=0 rate=$MAX_RATE_SQLITE
  [ "$backend" = postgres ] && rate=$MAX_RATE_POSTGRES
  for c in $CONNS; do
    run=$((run + 1))
    make_sessions $(( rate * DURATION )) "$url"
    local before after line
    before=$(count_responses "$backend" "$url")
    local cpu0 cpu1; cpu0=$(cpu_ticks)
    if [ -n "${PROFILE_DIR:-}" ]; then
      perf record -F 499 -a -g -o "$PROFILE_DIR/perf-$backend-c$c.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    fi
    line=$(SESSIONS_FILE="$WORK/sessions.txt" BODY_FILE="$WORK/body.json" RUN_SALT=$(printf '%x' $((run + 16 * $$ % 65536))) \
      wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --timeout 10s -s bench/service_submit.lua "$BASE" | tee "$WORK/wrk.out" | grep '^RESULT')
    cpu1=$(cpu_ticks)
    sleep 1
    after=$(count_responses "$backend" "$url")
    local s201 ok=ok
    s201=$(sed 's/.* s201=\([0-9]*\).*/\1/' <<<"$line")
    if ! grep -q 's200=0 s409=0 other=0 socket_errors=0 exhausted=0' <<<"$line"; then ok=FAIL; FAILED=1; fi
    # wrk drops the requests in flight when the run ends: those may be stored too.
    if (( after - before < s201 || after - before > s201 + c )); then ok="FAIL(stored $((after - before)))"; FAILED=1; fi
    echo "$backend c=$c $line stored=$((after - before)) $ok"
    cpu_per_submit "$cpu0" "$cpu1" "$(( after - before ))"
    if [ "$backend" = postgres ]; then
      # Updates PostgreSQL made in place on the page (HOT: no index entry
      # written) of all updates, per table, so far in this database.
      echo "postgres updates (hot/all): $(psql "$url" -Atc "SELECT string_agg(relname || ' ' || n_tup_hot_upd || '/' || n_tup_upd, ', ' ORDER BY relname) FROM pg_stat_user_tables WHERE n_tup_upd > 0")"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$c" \
      "$(sed 's/.* created_per_s=\([0-9]*\).*/\1/' <<<"$line")" \
      "$(sed 's/.* p50_ms=\([0-9.]*\).*/\1/' <<<"$line")" \
      "$(sed 's/.* p99_ms=\([0-9.]*\).*/\1/' <<<"$line")" \
      "$s201" "$(sed 's/.*s200=\([0-9]*\) s409=\([0-9]*\) other=\([0-9]*\) socket_errors=\([0-9]*\).*/\1+\2+\3+\4/' <<<"$line")" "$ok" \
      >>"$SUMMARY.submit"
  done
}

batch_runs() { # backend
  local backend=$1 token
  token=$(curl -sf "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"uploader-11\",\"password\":\"$UPLOADER_PASSWORD\"}" | jq -r .access_token)
  local prefixes=(K L M N P Q)
  for r in $(seq "$BATCH_REPEAT"); do
    local csv="$WORK/batch.csv"
    batch_csv "${prefixes[$((r - 1))]}" "$BATCH_ROWS" "$csv"
    local mb; mb=$(awk -v b="$(stat -c %s "$csv")" 'BEGIN{printf "%.1f", b / 1e6}')
    for dry in true false; do
      local res code t accepted
      res=$(curl -s -o "$WORK/batch.json" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' \
        --data-binary @"$csv" "$BASE/api/v1/rounds/2026/batches?dry_run=$dry&file_name=bench-$r.csv")
      code=${res% *}; t=${res#* }
      accepted=$(jq -r '.accepted // .duplicate_of // "?"' "$WORK/batch.json")
      local want=200; [ "$dry" = false ] && want=201
      local ok=ok
      if [ "$code" != "$want" ] || [ "$accepted" != "$BATCH_ROWS" ]; then ok=FAIL; FAILED=1; head -c 400 "$WORK/batch.json" >&2; echo >&2; fi
      echo "$backend batch $r dry_run=$dry: HTTP $code in ${t}s, accepted $accepted of $BATCH_ROWS ($mb MB) $ok"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$([ "$dry" = true ] && echo "dry run" || echo commit)" "$BATCH_ROWS" "$mb" "$t" "$ok" >>"$SUMMARY.batch"
    done
  done
}

bench_backend() { # backend url
  start_server "$2"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  submit_runs "$1" "$2"
  batch_runs "$1"
  stop_server
}

if [ "$BACKENDS" = sqlite ] || [ "$BACKENDS" = both ]; then
  bench_backend sqlite "sqlite://$WORK/bench.db"
fi
if [ "$BACKENDS" = postgres ] || [ "$BACKENDS" = both ]; then
  PG_DB="lit_bench_$$"
  psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
  bench_backend postgres "${PG_ADMIN%/*}/$PG_DB${PG_PARAMS:+?$PG_PARAMS}"
fi

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| backend | connections | submits/s (201) | p50 ms | p99 ms | 201s | non-201 (200+409+other+socket) | check |"
echo "|---|---|---|---|---|---|---|---|"
[ -f "$SUMMARY.submit" ] && awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$SUMMARY.submit"
echo
echo "| backend | batch | rows | MB | seconds | check |"
echo "|---|---|---|---|---|---|"
[ -f "$SUMMARY.batch" ] && awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$SUMMARY.batch"
exit "$FAILED"

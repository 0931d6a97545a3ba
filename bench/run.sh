#!/usr/bin/env bash
# Reproduces docs/BENCHMARKS.md: seeds a ticket data set on SQLite and
# PostgreSQL, starts a release server on each, and measures ticket create
# throughput and latency, queue list and full-text search latency, cold
# start and server RSS.
#
#   bench/run.sh                    # 1,000,000 tickets, both backends
#   BENCH_TICKETS=100000 BENCH_BACKENDS=sqlite bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opsdesk/target}"
TICKETS="${BENCH_TICKETS:-1000000}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
SECONDS_PER="${BENCH_SECONDS:-10}"
CLIENTS="${BENCH_CLIENTS:-16}"
PG_ADMIN_URL="${OPSDESK_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="${BENCH_DIR:-/tmp/opsdesk-bench}"
PORT="${BENCH_PORT:-18080}"
mkdir -p "$WORK"

cargo build --release --locked -p opsdesk -p opsdesk-bench
BIN="$CARGO_TARGET_DIR/release/opsdesk"
BENCH="$CARGO_TARGET_DIR/release/opsdesk-bench"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
echo "tickets: $TICKETS, clients: $CLIENTS, seconds per scenario: $SECONDS_PER"

for backend in $BACKENDS; do
    case "$backend" in
        sqlite)
            rm -f "$WORK"/bench.db*
            URL="sqlite://$WORK/bench.db"
            ;;
        postgres)
            DB="opsdesk_bench"
            psql -q -X -d "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
            URL="${PG_ADMIN_URL%/*}/$DB"
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    echo
    echo "=== $backend ==="
    "$BENCH" seed --database-url "$URL" --tickets "$TICKETS"

    start_ns=$(date +%s%N)
    OPSDESK_ADMIN_PASSWORD=bench-admin-password "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" > "$WORK/server-$backend.log" 2>&1 &
    PID=$!
    trap 'kill $PID 2>/dev/null || true' EXIT
    until curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null; do
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/server-$backend.log"; exit 1; }
        sleep 0.01
    done
    echo "cold start to ready: $(( ($(date +%s%N) - start_ns) / 1000000 )) ms (process start to /readyz 200, $TICKETS tickets in the database)"

    # Measure the steady state: let start-up work (planner statistics, the
    # SLA projection catching up with a freshly seeded log) finish first.
    for _ in $(seq 60); do
        c0=$(awk '{print $14+$15}' "/proc/$PID/stat"); sleep 1
        c1=$(awk '{print $14+$15}' "/proc/$PID/stat")
        [ $((c1 - c0)) -lt 5 ] && break
    done
    TOKEN=$("$BIN" admin create-token admin --database-url "$URL" --name bench)
    # The pages scenario signs in to the web UI as an agent.
    OPSDESK_NEW_USER_PASSWORD=bench-web-password "$BIN" admin create-user bench-agent --role agent \
        --database-url "$URL" > /dev/null 2>&1 || true
    BENCH_WEB_USER=bench-agent BENCH_WEB_PASSWORD=bench-web-password "$BENCH" run --server "http://127.0.0.1:$PORT" --token "$TOKEN" --server-pid "$PID" \
        --scenarios list,search,pages,create --concurrency "$CLIENTS" --seconds "$SECONDS_PER"
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    trap - EXIT
done

#!/usr/bin/env bash
# Alert intake benchmark (docs/BENCHMARKS.md, "Alert intake"): a release
# opsdesk on a fresh SQLite file and Debian's prometheus-alertmanager on the
# same machine get the same stream of Alertmanager alerts in 100-alert
# batches from 16 concurrent senders.
#
#   bench/alerts.sh                          # 10 s per phase
#   BENCH_SECONDS=30 BENCH_MAX_NEW=1000000 bench/alerts.sh   # the 1M-alert RSS run
#   BENCH_BACKEND=postgres bench/alerts.sh   # PostgreSQL: a scratch database
#       (BENCH_PG_DB, default alertbench) is created on BENCH_PG_HOST as
#       BENCH_PG_USER, and dropped at the end
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opsdesk/target}"
SECONDS_PER="${BENCH_SECONDS:-10}"
SENDERS="${BENCH_CLIENTS:-16}"
BATCH="${BENCH_BATCH:-100}"
RATE="${BENCH_RATE:-500}"
MAX_NEW="${BENCH_MAX_NEW:-0}"
SYNC="${OPSDESK_SQLITE_SYNCHRONOUS:-full}"
BACKEND="${BENCH_BACKEND:-sqlite}"
PG_HOST="${BENCH_PG_HOST:-127.0.0.1}"
PG_USER="${BENCH_PG_USER:-postgres}"
PG_DB="${BENCH_PG_DB:-alertbench}"
WORK="${BENCH_DIR:-/tmp/opsdesk-bench-alerts}"
PORT="${BENCH_PORT:-18081}"
AM_PORT="${BENCH_AM_PORT:-19093}"
AM_BIN="${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}"
mkdir -p "$WORK"

if [ -n "${BENCH_BIN_DIR:-}" ]; then
    # Prebuilt binaries (opsdesk, opsdesk-bench), e.g. to compare builds.
    BIN="$BENCH_BIN_DIR/opsdesk"
    BENCH="$BENCH_BIN_DIR/opsdesk-bench"
else
    cargo build --release --locked -p opsdesk -p opsdesk-bench
    BIN="$CARGO_TARGET_DIR/release/opsdesk"
    BENCH="$CARGO_TARGET_DIR/release/opsdesk-bench"
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
rm -rf "$WORK"/bench.db* "$WORK"/am-data
case "$BACKEND" in
    sqlite)
        echo "senders: $SENDERS, batch: $BATCH alerts, seconds per phase: $SECONDS_PER, backend: sqlite, sqlite_synchronous: $SYNC"
        URL="sqlite://$WORK/bench.db"
        ;;
    postgres)
        echo "senders: $SENDERS, batch: $BATCH alerts, seconds per phase: $SECONDS_PER, backend: postgres ($PG_HOST, database $PG_DB, synchronous_commit: $(psql -h "$PG_HOST" -U "$PG_USER" -Atc 'show synchronous_commit' postgres), fsync: $(psql -h "$PG_HOST" -U "$PG_USER" -Atc 'show fsync' postgres))"
        dropdb -h "$PG_HOST" -U "$PG_USER" --if-exists "$PG_DB"
        createdb -h "$PG_HOST" -U "$PG_USER" "$PG_DB"
        URL="postgres://$PG_USER@$PG_HOST/$PG_DB"
        ;;
    *)
        echo "BENCH_BACKEND must be sqlite or postgres, not '$BACKEND'" >&2
        exit 2
        ;;
esac
OPSDESK_SQLITE_SYNCHRONOUS="$SYNC" OPSDESK_ADMIN_PASSWORD=bench-admin-password \
    "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" > "$WORK/server.log" 2>&1 &
PID=$!
AM_PID=""
cleanup() {
    kill "$PID" 2>/dev/null || true
    [ -n "$AM_PID" ] && kill "$AM_PID" 2>/dev/null || true
    if [ "$BACKEND" = postgres ]; then
        wait "$PID" 2>/dev/null || true
        dropdb -h "$PG_HOST" -U "$PG_USER" --if-exists "$PG_DB" || true
    fi
}
trap cleanup EXIT
until curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.05
done
TOKEN=$("$BIN" admin create-token admin --database-url "$URL" --name bench)

AM_ARGS=()
if [ -x "$AM_BIN" ]; then
    # Alertmanager keeps alerts in memory; its receiver here discards them.
    cat > "$WORK/alertmanager.yml" <<YAML
route:
  receiver: discard
  group_by: ['alertname']
receivers:
  - name: discard
YAML
    "$AM_BIN" --config.file="$WORK/alertmanager.yml" --storage.path="$WORK/am-data" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= > "$WORK/alertmanager.log" 2>&1 &
    AM_PID=$!
    until curl -sf "http://127.0.0.1:$AM_PORT/-/ready" > /dev/null; do
        kill -0 "$AM_PID" 2>/dev/null || { cat "$WORK/alertmanager.log"; exit 1; }
        sleep 0.05
    done
    echo "alertmanager: $("$AM_BIN" --version 2>&1 | head -n 1)"
    AM_ARGS=(--alertmanager "http://127.0.0.1:$AM_PORT" --alertmanager-pid "$AM_PID")
else
    echo "no $AM_BIN: skipping the Alertmanager comparison"
fi

"$BENCH" alerts --server "http://127.0.0.1:$PORT" --token "$TOKEN" --server-pid "$PID" \
    --concurrency "$SENDERS" --batch "$BATCH" --seconds "$SECONDS_PER" --rate "$RATE" \
    --max-new "$MAX_NEW" "${AM_ARGS[@]}"
if [ "$BACKEND" = sqlite ]; then
    echo "database files: $(cd "$WORK" && du -sh bench.db* | awk '{printf "%s%s %s", sep, $2, $1; sep = ", "}')"
else
    echo "database: $(psql -h "$PG_HOST" -U "$PG_USER" -Atc "select pg_size_pretty(pg_database_size('$PG_DB'))" postgres)"
fi

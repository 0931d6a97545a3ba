#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test on SQLite and
# PostgreSQL. This is the command the README names and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep build output outside the clone so repeated runs build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opsdesk/target}"
export OPSDESK_TEST_PG_URL="${OPSDESK_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -d "$OPSDESK_TEST_PG_URL"
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

step "PostgreSQL at ${OPSDESK_TEST_PG_URL%%@*}@…"
if ! pg_ready; then
    # A local Debian cluster that stopped: start it (needs root, as on CI).
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
        for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    fi
fi
if pg_ready; then
    echo "PostgreSQL is up; every store and HTTP test also runs on it"
    # Drop databases left behind by killed test runs.
    if command -v psql >/dev/null 2>&1; then
        psql -q -X -At -d "$OPSDESK_TEST_PG_URL" -c \
            "SELECT datname FROM pg_database WHERE datname LIKE 'opsdesk_test_%'" 2>/dev/null |
            while read -r db; do psql -q -X -d "$OPSDESK_TEST_PG_URL" -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
    fi
elif [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not reachable at $OPSDESK_TEST_PG_URL and CI=true: PostgreSQL tests are required" >&2
    exit 1
else
    echo "PostgreSQL is not reachable: PostgreSQL variants of the tests will be skipped (set OPSDESK_TEST_PG_URL)"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    # nextest does not run doc tests.
    cargo test --workspace --locked --doc
else
    cargo test --workspace --locked --no-fail-fast
fi

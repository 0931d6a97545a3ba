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

# --- web UI browser tests: Debian chromium + chromium-driver -----------------
# crates/server/tests/browser.rs drives a real chromium over WebDriver; it
# skips without chromedriver, except under CI=true, where it fails.
step "chromium + chromium-driver for the browser tests"
if command -v chromedriver >/dev/null 2>&1; then
    echo "chromedriver: $(chromedriver --version 2>/dev/null | head -n 1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update && apt-get install -y chromium chromium-driver) ||
        echo "could not install chromium-driver: the browser tests will be skipped (or fail under CI=true)"
else
    echo "chromedriver not found: the browser tests will be skipped (fail under CI=true); install chromium chromium-driver"
fi
# --- end of the browser tests block -----------------------------------------

# --- alert intake test: Debian prometheus-alertmanager ---------------------
# crates/server/tests/alertmanager.rs runs a real Alertmanager that posts its
# webhooks to opsdesk; it skips without the binary, except under CI=true.
step "prometheus-alertmanager for the Alertmanager client test"
if [ -x /usr/bin/prometheus-alertmanager ]; then
    echo "alertmanager: $(/usr/bin/prometheus-alertmanager --version 2>&1 | head -n 1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-alertmanager) ||
        echo "could not install prometheus-alertmanager: the Alertmanager test will be skipped (or fail under CI=true)"
else
    echo "prometheus-alertmanager not found: the Alertmanager test will be skipped (fails under CI=true); install prometheus-alertmanager"
fi
# --- end of the Alertmanager block ------------------------------------------

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

#!/usr/bin/env bash
# Runs every Argus test: unit tests, the api's integration tests against a
# real PostgreSQL (one fresh database per test), and the `argus dev` smoke
# test. Starts PostgreSQL first if it is not running. Uses cargo-nextest
# when installed (one process per test, a clear summary), else cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi

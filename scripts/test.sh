#!/usr/bin/env bash
# Runs every Argus test: unit tests, the api's integration tests against a
# real PostgreSQL (one fresh database per test) and a real S3 server (one
# bucket per test), the relay's tests against a GStreamer RTSP camera, the
# end-to-end recording tests and the `argus dev` smoke test. Starts
# PostgreSQL and the S3 server first, installing what a fresh machine lacks.
# Uses cargo-nextest when installed (one process per test, a clear
# summary), else cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
scripts/ensure-test-tools.sh
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
export TEST_S3_ENDPOINT=${TEST_S3_ENDPOINT:-http://127.0.0.1:${TEST_S3_PORT:-9090}}

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi

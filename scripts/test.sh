#!/usr/bin/env bash
# Runs every Argus test: unit tests, the api's integration tests against a
# real PostgreSQL (one fresh database per test), and the `argus dev` smoke
# test. Starts PostgreSQL first if it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}

cargo test --workspace --locked "$@"

#!/usr/bin/env bash
# Benchmark: an authenticated GET /api/v1/cameras (50 cameras in the
# tenant) under load from wrk on loopback, against PostgreSQL, next to
# pgbench running the same SQL on the same database in the same run.
#
# Goal (issue #2): at least half of pgbench's rate, p99 under 20 ms.
# Usage: bench/cameras_list.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-15}
conns=${2:-16}
port=${BENCH_PORT:-18481}
db=argus_bench_$$
server=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/argus-target}

scripts/ensure-postgres.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked --quiet
argus=$CARGO_TARGET_DIR/release/argus

work=$(mktemp -d)
cleanup() {
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -q "$server/postgres" -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL=$server/$db ARGUS_LOG=warn ARGUS_AUTH__KEY_DIR=$work/keys
export ARGUS_BOOTSTRAP_ADMIN_PASSWORD=bench-platform-password
"$argus" admin create-platform-admin --email bench@platform.test >/dev/null
"$argus" api --listen 127.0.0.1:$port --workers 2 >"$work/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$port/api/v1
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -H "content-type: application/json" -H "authorization: Bearer $1" -d "$3" "$base$2"; }

ptok=$(curl -sf -H 'content-type: application/json' -d '{"email":"bench@platform.test","password":"bench-platform-password"}' \
  "$base/auth/login" | json '["access_token"]')
tid=$(post "$ptok" /tenants '{"slug":"bench","name":"Bench"}' | json '["id"]')
post "$ptok" "/tenants/$tid/admins" '{"email":"admin@bench.test","password":"bench-admin-password"}' >/dev/null
tok=$(curl -sf -H 'content-type: application/json' -d '{"email":"admin@bench.test","password":"bench-admin-password"}' \
  "$base/auth/login" | json '["access_token"]')
site=$(post "$tok" /sites '{"name":"HQ"}' | json '["id"]')
for i in $(seq 1 50); do
  post "$tok" /cameras "{\"site_id\":\"$site\",\"name\":\"cam $i\",\"source_url\":\"rtsp://10.0.0.$i/stream1\"}" >/dev/null
done
count=$(curl -sf -H "authorization: Bearer $tok" "$base/cameras" | json '.__len__()')
echo "tenant has $count cameras; ${secs}s per run, $conns connections, 2 cores shared by all"

# The same SQL the api runs for this request, as pgbench scripts.
cat >"$work/list.sql" <<SQL
SELECT id, tenant_id, site_id, relay_id, name, source_url, retention_days, status, created_at, updated_at
FROM cameras WHERE tenant_id = '$tid' ORDER BY name;
SQL
sid=$(python3 -c "import base64, json, sys; p=sys.argv[1].split('.')[1]; p+='='*(-len(p)%4); print(json.loads(base64.urlsafe_b64decode(p))['sid'])" "$tok")
uid=$(curl -sf -H "authorization: Bearer $tok" "$base/me" | json '["user"]["id"]')
cat >"$work/request.sql" <<SQL
BEGIN;
SELECT u.email, s.expires_at, r.permissions, b.site_id FROM sessions s
  JOIN users u ON u.id = s.subject_id JOIN tenants t ON t.id = u.tenant_id
  LEFT JOIN role_bindings b ON b.user_id = u.id AND b.tenant_id = u.tenant_id
  LEFT JOIN roles r ON r.id = b.role_id AND r.tenant_id = u.tenant_id
  WHERE s.id = '$sid' AND s.subject_id = '$uid' AND u.tenant_id = '$tid' AND s.revoked_at IS NULL
    AND s.subject_kind = 'user' AND u.status = 'active' AND t.status = 'active';
SET LOCAL ROLE argus_app;
SELECT set_config('argus.tenant_id', '$tid', true);
SELECT id, tenant_id, site_id, relay_id, name, source_url, retention_days, status, created_at, updated_at
FROM cameras WHERE tenant_id = '$tid' ORDER BY name;
COMMIT;
SQL

echo
echo "== argus: wrk GET /api/v1/cameras"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $tok" "$base/cameras" >"$work/wrk.txt"
api_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
api_p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $4}' "$work/wrk.txt")
echo "argus api:                 ${api_rps} req/s   p99 ${api_p99}   non-2xx: ${non2xx:-0}"

run_pgbench() {
  pgbench -n -M prepared -c "$conns" -j 2 -T "$secs" -r -f "$1" "$server/$db" 2>/dev/null >"$work/pgbench.txt"
  tps=$(awk '/^tps/ {print $3}' "$work/pgbench.txt")
  lat=$(awk '/^latency average/ {print $4 " " $5}' "$work/pgbench.txt")
  echo "$2 ${tps} tx/s   avg latency ${lat}"
}
echo
echo "== pgbench, same database, same connections"
run_pgbench "$work/list.sql"    "pgbench, the list query:  "
list_tps=$tps
run_pgbench "$work/request.sql" "pgbench, whole request tx:"
request_tps=$tps

echo
python3 - "$api_rps" "$list_tps" "$request_tps" "$api_p99" <<'PY'
import sys, re
api, list_tps, req_tps, p99 = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
m = re.match(r"([\d.]+)(us|ms|s)", p99)
ms = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
print(f"argus / pgbench(list query)        = {api / list_tps:.2f}  (goal >= 0.5)")
print(f"argus / pgbench(whole request tx)  = {api / req_tps:.2f}")
print(f"argus p99                          = {ms:.1f} ms (goal < 20 ms)")
PY

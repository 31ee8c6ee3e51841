# Sourced by bench/live_view.sh: the Argus side. `argus dev` (api + SFU,
# SQLite, embedded S3) on loopback, its demo camera deleted so its
# in-process demo relay idles, and a standalone `argus-relay` with one
# simulated camera per GOP of $gops, pushed live over WHIP when watched.
# Invariant: sets api_pid / relay_pid as soon as each process starts, so
# the caller's trap can stop them whatever fails after.

argus_login() {
  curl -sf -H 'content-type: application/json' \
    -d '{"email":"admin@demo.local","password":"bench-demo-password","tenant":"demo"}' \
    "$api_url/api/v1/auth/login" | json '["access_token"]'
}

argus_call() { # METHOD PATH [JSON]
  local args=(-sf -X "$1" -H "authorization: Bearer $token")
  [ $# -lt 3 ] || args+=(-H 'content-type: application/json' -d "$3")
  curl "${args[@]}" "$api_url/api/v1$2"
}

# The source URL of the camera with a keyframe every $1 frames.
sim_url() { echo "sim://bench-gop$1?fps=$fps&gop=$1&$sim"; }

camera_online() {
  argus_call GET "/cameras/$1" | json '["health_state"]' | grep -qx online
}

start_argus() {
  export ARGUS_LOG=${ARGUS_LOG:-warn} ARGUS_DEMO_ADMIN_PASSWORD=bench-demo-password
  # A grace longer than the gap between two rows: the relay keeps pushing
  # from one row to the next, so no row pays for (or measures) a restart.
  export ARGUS_LIVE__GRACE_SECS=60
  # Every load-client viewer logs in as the same admin: lift the per-user cap (16).
  export ARGUS_LIVE__MAX_SESSIONS_PER_USER=1000
  "$bin/argus" dev --listen "127.0.0.1:$port" --data-dir "$work/dev" >"$work/api.log" 2>&1 &
  api_pid=$!
  api_url=http://127.0.0.1:$port
  wait_for 600 curl -sf "$api_url/readyz" || { tail "$work/api.log"; return 1; }
  token=$(argus_login)

  # The demo camera: deleted, so the demo relay in `argus dev` records nothing.
  for id in $(argus_call GET /cameras |
    python3 -c 'import sys, json; print(" ".join(c["id"] for c in json.load(sys.stdin)))'); do
    argus_call DELETE "/cameras/$id" >/dev/null || true
  done

  local site relay_json relay_id claim
  site=$(argus_call POST /sites '{"name":"Bench live"}' | json '["id"]')
  relay_json=$(argus_call POST /relays "{\"site_id\":\"$site\",\"name\":\"bench live relay\"}")
  relay_id=$(json '["relay"]["id"]' <<<"$relay_json")
  claim=$(json '["claim_code"]' <<<"$relay_json")
  declare -gA cams=()
  for g in $gops; do
    cams[$g]=$(argus_call POST /cameras "{\"site_id\":\"$site\",\"name\":\"gop $g\",
      \"source_url\":\"$(sim_url "$g")\",\"relay_id\":\"$relay_id\"}" | json '["id"]')
  done

  "$bin/argus-relay" --cloud-url "$api_url" --claim-code "$claim" \
    --state-dir "$work/relay" >"$work/relay.log" 2>&1 &
  relay_pid=$!
  for g in $gops; do
    wait_for 1200 camera_online "${cams[$g]}" || { tail "$work/relay.log"; return 1; }
  done
}

stop_argus() {
  stop_pid "${relay_pid:-}"
  relay_pid=
  stop_pid "${api_pid:-}"
  api_pid=
}

#!/usr/bin/env bash
# Benchmark: N simulated cameras (~2 Mbit/s H.264 each) recorded by one
# standalone argus-relay (segment, encrypt, upload to the embedded S3 of
# `argus dev`, commit), next to N `ffmpeg -c copy -f segment` processes
# cutting the very same H.264 stream into 4 s fMP4 files, in the same run.
# The two phases run one after the other so they do not share the 2 cores.
#
# Goal (issue #3): relay CPU per stream at most half of ffmpeg's, and 500
# streams of 2 Mbit/s on these 2 cores.
# Usage: bench/relay_streams.sh [N] [seconds]
#   BENCH_SIM    sim query for every camera (default size=1280x720&bitrate=2000;
#                fps=25, gop=50 are the sim defaults)
#   BENCH_WARMUP seconds before measuring (default 15)
#   BENCH_PORT   api port (default 18482)
#   BENCH_RELAY_ARGS extra argus-relay flags, e.g. "--upload-parallel 32"
#   BENCH_BIN    a directory holding prebuilt argus, argus-relay and
#                examples/sim_clip to run instead of building (to compare
#                two builds in the same conditions)
#   BENCH_KEEP   1: keep the work dir (api, relay and ffmpeg logs) and
#                print its path
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-50}
secs=${2:-30}
warm=${BENCH_WARMUP:-15}
sim=${BENCH_SIM:-size=1280x720&bitrate=2000}
port=${BENCH_PORT:-18482}
seg=4
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/argus-target}

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need ffmpeg ffmpeg
need curl curl
need python3 python3
# One invocation, so the two binaries and the example share one feature set
# (two would rebuild each other's crates every run).
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --locked --quiet -p argus -p argus-relay --bin argus --bin argus-relay --example sim_clip
  bin=$CARGO_TARGET_DIR/release
fi

work=$(mktemp -d)
ff_pids=()
cleanup() {
  [ -n "${relay_pid:-}" ] && kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
  for p in "${ff_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${ff_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    rm -rf "$work/ff" "$work/dev/objects" && echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# /proc helpers: CPU seconds (utime+stime, all threads) and RSS/PSS in KiB,
# summed over the given pids.
hz=$(getconf CLK_TCK)
cpu() { for p in "$@"; do cut -d')' -f2 "/proc/$p/stat"; done | awk -v hz="$hz" '{t += $12 + $13} END {printf "%.2f", t / hz}'; }
rss() { for p in "$@"; do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{t += $1} END {print t + 0}'; }
pss() { for p in "$@"; do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"; done | awk '{t += $1} END {print t + 0}'; }
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# The input: the sim clip every camera replays, as an Annex B file.
read -r frames fps bytes kbps < <(ARGUS_SIM_DEFAULTS="$sim" "$bin/examples/sim_clip" "sim://bench" "$work/clip.h264")
echo "input: sim ${sim}, loop of $frames frames at $fps fps, $bytes bytes = $kbps kbit/s per stream"
# ffmpeg cannot -stream_loop a raw .h264 (it cannot seek it), so it gets the
# same samples remuxed once into an .mp4 (also spares it the H.264 parser).
ffmpeg -hide_banner -loglevel error -nostdin -framerate "$fps" -i "$work/clip.h264" -c copy "$work/clip.mp4"
echo "$n streams, ${warm}s warm-up, ${secs}s measured, $seg s segments, 2 cores"

# --- the relay -------------------------------------------------------------
export ARGUS_LOG=warn ARGUS_DEMO_ADMIN_PASSWORD=bench-demo-password
"$bin/argus" dev --listen 127.0.0.1:$port --data-dir "$work/dev" >"$work/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$port/api/v1
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
tok=$(curl -sf -H 'content-type: application/json' \
  -d '{"email":"admin@demo.local","password":"bench-demo-password","tenant":"demo"}' \
  "$base/auth/login" | json '["access_token"]')
post() { curl -sf -H "content-type: application/json" -H "authorization: Bearer $tok" -d "$2" "$base$1"; }
get() { curl -sf -H "authorization: Bearer $tok" "$base$1"; }

site=$(post /sites '{"name":"Bench"}' | json '["id"]')
post /relays "{\"site_id\":\"$site\",\"name\":\"bench relay\"}" >"$work/relay.json"
relay_id=$(json '["relay"]["id"]' <"$work/relay.json")
claim=$(json '["claim_code"]' <"$work/relay.json")
: >"$work/cameras"
for i in $(seq 1 "$n"); do
  post /cameras "{\"site_id\":\"$site\",\"name\":\"bench $i\",\"source_url\":\"sim://bench$i\",\"relay_id\":\"$relay_id\",\"segment_secs\":$seg}" |
    json '["id"]' >>"$work/cameras"
done

ARGUS_SIM_DEFAULTS="$sim" "$bin/argus-relay" --cloud-url "http://127.0.0.1:$port" \
  --claim-code "$claim" --state-dir "$work/relay" ${BENCH_RELAY_ARGS:-} >"$work/relay.log" 2>&1 &
relay_pid=$!
sleep "$warm"
r_cpu0=$(cpu "$relay_pid") a_cpu0=$(cpu "$api_pid") r_from=$(now) r_t0=$(date +%s.%N)
sleep "$secs"
r_cpu1=$(cpu "$relay_pid") a_cpu1=$(cpu "$api_pid") r_to=$(now) r_t1=$(date +%s.%N)
r_rss=$(rss "$relay_pid") r_pss=$(pss "$relay_pid")
sleep $((seg + 4)) # let the window's last segments commit
get "/relays/$relay_id" >"$work/relay_status.json"
while read -r cam; do
  get "/cameras/$cam/segments?from=$r_from&to=$r_to&limit=10000"
  echo
done <"$work/cameras" >"$work/catalog.jsonl"
kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=
kill "$api_pid"; wait "$api_pid" 2>/dev/null || true; api_pid=

# --- ffmpeg: one process per stream, like one recorder per camera ----------
for i in $(seq 1 "$n"); do
  mkdir -p "$work/ff/$i"
  ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 \
    -i "$work/clip.mp4" -c copy -f segment -segment_time $seg -reset_timestamps 1 \
    -segment_format mp4 -segment_format_options movflags=+frag_keyframe+empty_moov+default_base_moof \
    "$work/ff/$i/%06d.mp4" 2>>"$work/ffmpeg.log" &
  ff_pids+=($!)
done
sleep "$warm"
f_cpu0=$(cpu "${ff_pids[@]}") f_t0=$(date +%s.%N)
sleep "$secs"
f_cpu1=$(cpu "${ff_pids[@]}") f_t1=$(date +%s.%N)
f_rss=$(rss "${ff_pids[@]}") f_pss=$(pss "${ff_pids[@]}")
sleep $((seg + 1))
# Segments finished in the window: files begun at or after its start whose
# successor exists (so they are complete) and that began before its end.
f_done=$(python3 - "$work/ff" "$f_t0" "$secs" <<'PY'
import os, sys
root, start, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
done = 0
for d in os.listdir(root):
    files = sorted(os.listdir(os.path.join(root, d)))
    times = [os.stat(os.path.join(root, d, f)).st_ctime for f in files]
    # ctime of a file is its last write: the end of that segment.
    done += sum(1 for t in times[:-1] if start <= t < start + secs)
print(done)
PY
)
for p in "${ff_pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${ff_pids[@]}"; do wait "$p" 2>/dev/null || true; done
ff_pids=()

echo
python3 - "$n" "$secs" "$seg" "$r_cpu0" "$r_cpu1" "$r_t0" "$r_t1" "$r_rss" "$r_pss" "$a_cpu0" "$a_cpu1" \
  "$f_cpu0" "$f_cpu1" "$f_t0" "$f_t1" "$f_rss" "$f_pss" "$f_done" "$r_from" "$r_to" \
  "$work/catalog.jsonl" "$work/relay_status.json" <<'PY'
import json, sys
from datetime import datetime
a = sys.argv[1:]
n, secs, seg = int(a[0]), float(a[1]), float(a[2])
f = [float(x) for x in a[3:18]]
r_cpu = (f[1] - f[0]) / (f[3] - f[2]) * 100
r_rss, r_pss, api_cpu = f[4] / 1024, f[5] / 1024, (f[7] - f[6]) / (f[3] - f[2]) * 100
f_cpu = (f[9] - f[8]) / (f[11] - f[10]) * 100
f_rss, f_pss, f_done = f[12] / 1024, f[13] / 1024, int(f[14])
ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
w0, w1 = ts(a[18]), ts(a[19])

covered, committed, gaps, runs = 0.0, 0, {}, 0
for line in open(a[20]):
    cat = json.loads(line)
    for s in cat["segments"]:
        start, end = ts(s["start"]), ts(s["end"])
        covered += max(0.0, min(end, w1) - max(start, w0))
        committed += w0 <= end < w1
    runs += len({s["run_id"] for s in cat["segments"]})
    for g in cat["gaps"]:
        span = max(0.0, min(ts(g["end"]), w1) - max(ts(g["start"]), w0))
        gaps[g["reason"]] = gaps.get(g["reason"], 0.0) + span
lo, hi = int(secs // seg), -int(-secs // seg)
expected = f"{n * lo}" if lo == hi else f"{n * lo}-{n * hi}"
status = json.load(open(a[21]))
status = status.get("relay", status)

print(f"{'streams':>8} {'relay CPU%/str':>15} {'relay RSS MiB/str':>18} "
      f"{'ffmpeg CPU%/str':>16} {'ffmpeg RSS MiB/str':>19} {'ratio':>6}  goal (<= 0.5)")
ratio = r_cpu / f_cpu if f_cpu else float("inf")
print(f"{n:>8} {r_cpu / n:>15.3f} {r_rss / n:>18.2f} {f_cpu / n:>16.3f} {f_rss / n:>19.2f} "
      f"{ratio:>6.2f}  {'yes' if ratio <= 0.5 else 'NO'}")
print()
print(f"relay:  {r_cpu:.0f}% CPU total, RSS {r_rss:.0f} MiB (PSS {r_pss:.0f}); "
      f"segments ended in the window and committed: {committed} of {expected} expected; "
      f"{covered / (n * (w1 - w0)) * 100:.1f}% of the window recorded")
gap_text = ", ".join(f"{r} {v / (n * (w1 - w0)) * 100:.1f}%" for r, v in sorted(gaps.items()))
print(f"        gaps reported in the window: {gap_text or 'none'}; "
      f"{runs} recording runs over {n} cameras")
print(f"        heartbeat: buffered {status.get('buffered_segments')} segments / "
      f"{status.get('buffered_bytes')} bytes, dropped {status.get('dropped_segments')}")
print(f"api (argus dev: SQLite, embedded S3, its own demo camera): {api_cpu:.0f}% CPU, not counted above")
print(f"ffmpeg: {f_cpu:.0f}% CPU total, RSS {f_rss:.0f} MiB (PSS {f_pss:.0f}); "
      f"segments finished in the window: {f_done} of {expected} expected")
PY

#!/usr/bin/env bash
# Benchmark (issue #4): live view through the api's SFU, side by side.
#
#  1. Time from the WHEP POST to the first decoded frame in headless
#     Chromium (tests/browser/watch.mjs on the api's /live-test page), p50
#     and p95 over $BENCH_TRIES tries at random points of the camera's GOP,
#     for each GOP of $BENCH_GOPS (default a keyframe every 4 s, then 1 s):
#     goal p95 < 300 ms whatever the keyframe interval.
#  2. CPU per extra viewer of the server process: `argus dev` (api + SFU,
#     fed over WHIP by a standalone argus-relay) against Janus 1.1's
#     streaming plugin (fed the very same H.264 clip as RTP by ffmpeg, in a
#     network namespace of its own), each watched by the same receive-only
#     webrtc-crate client (api/examples/whep_viewers) that counts packets.
#     Per extra viewer = (cpu% at N - cpu% at 1) / (N - 1); goal: Argus at
#     most half of Janus. A row where a viewer got no packet is invalid.
#
# Usage: bench/live_view.sh            (as root: apt, ip netns)
#   BENCH_VIEWERS  viewer counts of part 2 (default "1 10 50"; the first is the base)
#   BENCH_WINDOW   seconds each row of part 2 is measured over (default 20)
#   BENCH_WARMUP   seconds between all viewers connected and the window (default 5)
#   BENCH_TRIES    first-frame tries per GOP (default 20)
#   BENCH_GOPS     keyframe intervals in frames at 25 fps (default "100 25")
#   BENCH_SIM      sim camera query (default size=1280x720&bitrate=2000)
#   BENCH_PORT     api port (default 18483)
#   BENCH_NET      the namespace's /24, first three octets (default 10.231.0)
#   BENCH_SKIP_BROWSER=1, BENCH_SKIP_JANUS=1   leave out part 1 / Janus
#   BENCH_NO_BUILD=1  use the release binaries already in $CARGO_TARGET_DIR
#   KEEP_WORK=1       keep the run's folder (logs, raw JSON) instead of removing it
#   ARGUS_LOG         the api's log filter (default warn)
# It is a benchmark, not a test: it prints numbers and asserts none.
set -euo pipefail
cd "$(dirname "$0")/.."

viewer_counts=${BENCH_VIEWERS:-1 10 50}
window=${BENCH_WINDOW:-20}
warmup=${BENCH_WARMUP:-5}
tries=${BENCH_TRIES:-20}
gops=${BENCH_GOPS:-100 25}
sim=${BENCH_SIM:-size=1280x720&bitrate=2000}
port=${BENCH_PORT:-18483}
net=${BENCH_NET:-10.231.0}
skip_browser=${BENCH_SKIP_BROWSER:-0}
skip_janus=${BENCH_SKIP_JANUS:-0}
fps=25
cpu_gop=${gops%% *}
rtp_size=1200 # the RTP packet size of ffmpeg's feed, as webrtc's MTU
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/argus-target}

. bench/live/setup.sh
. bench/live/argus.sh
. bench/live/janus.sh
. bench/live/phases.sh

work=$(mktemp -d /tmp/live-view.XXXXXX)
cleanup() {
  stop_janus
  stop_argus
  [ -n "${KEEP_WORK:-}" ] && echo "live_view: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/results"

install_tools
if [ "${BENCH_NO_BUILD:-}" = 1 ]; then
  bin=$CARGO_TARGET_DIR/release
  viewers_bin=$bin/examples/whep_viewers
else
  build_all
fi
{
  echo "tree: $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "+ $(git status --porcelain 2>/dev/null | grep -vc '^??' || true) modified files;" \
    "argus built $(date -ur "$bin/argus" +%H:%M:%SZ 2>/dev/null || echo '?')"
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
  echo "busiest processes over 1 s before the run (% of one core):"
  top -bn2 -d1 -o %CPU -w 200 | awk '/^top -/ { i++ } i == 2' | sed -n '8,12p' |
    awk '{ printf "  %s %s", $9, $12 } END { print "" }'
} >"$work/results/env.txt"

# The input: one loop of the sim camera, for ffmpeg to replay to Janus.
read -r frames _ bytes kbps < <("$bin/examples/sim_clip" "$(sim_url "$cpu_gop")" "$work/clip.h264")
ffmpeg -hide_banner -loglevel error -nostdin -framerate "$fps" -i "$work/clip.h264" \
  -c copy "$work/clip.mp4"
echo "input: sim $sim at $fps fps, loop of $frames frames, $kbps kbit/s" >"$work/results/input.txt"

start_argus
if [ "$skip_browser" != 1 ]; then
  for g in $gops; do first_frames "$g"; done
fi
for n in $viewer_counts; do cpu_row argus "$n"; done
stop_argus

if [ "$skip_janus" != 1 ]; then
  if start_janus; then
    for n in $viewer_counts; do cpu_row janus "$n"; done
  else
    echo "Janus did not start: see the log above" >"$work/results/janus_failed.txt"
  fi
  stop_janus
fi

python3 bench/live/table.py "$work/results" "$fps" "$window"

#!/usr/bin/env bash
# Installs the real peers the recording tests talk to, when missing:
#   - GStreamer with its RTSP server (a simulated IP camera, via python3-gi)
#   - ffmpeg/ffprobe (to check that recorded segments are valid fMP4)
#   - moto's S3 server (an S3-compatible object store on loopback), in a
#     virtualenv under $ARGUS_TOOLS (default ~/.cache/argus-tools)
#   - Debian's Chromium and tests/browser's npm packages (playwright-core,
#     from its package-lock.json; never a browser download of its own)
# Then starts the S3 server on 127.0.0.1:$TEST_S3_PORT (default 9090) if
# nothing answers there. Safe to run again: it only does what is missing.
set -euo pipefail

tools=${ARGUS_TOOLS:-$HOME/.cache/argus-tools}
port=${TEST_S3_PORT:-9090}
mkdir -p "$tools"

need_apt=()
command -v gst-launch-1.0 >/dev/null || need_apt+=(gstreamer1.0-tools)
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null ||
  need_apt+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp)
gst-inspect-1.0 x264enc >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-ugly)
gst-inspect-1.0 x265enc >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-bad)
gst-inspect-1.0 rtph264pay >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-good)
gst-inspect-1.0 videotestsrc >/dev/null 2>&1 || need_apt+=(gstreamer1.0-plugins-base)
command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
command -v python3 >/dev/null || need_apt+=(python3)
command -v chromium >/dev/null || need_apt+=(chromium fonts-dejavu-core)
command -v npm >/dev/null || need_apt+=(nodejs npm)
/usr/bin/python3 -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "ensure-test-tools: installing ${need_apt[*]}" >&2
  # Another apt run (a neighbour's install) may hold the lock for a while.
  apt_opts=(-o DPkg::Lock::Timeout=600)
  apt-get "${apt_opts[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
    --no-install-recommends "${need_apt[@]}" gstreamer1.0-plugins-base \
    gstreamer1.0-plugins-good >/dev/null
fi

# playwright-core for tests/browser, again whenever its lock file changes.
browser=$(cd "$(dirname "$0")/.." && pwd)/tests/browser
stamp=$browser/node_modules/.argus-lock.sha256
lock_sum=$(sha256sum "$browser/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "ensure-test-tools: installing $browser's npm packages (npm ci)" >&2
  (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$stamp"
fi

if [ ! -x "$tools/venv/bin/moto_server" ]; then
  echo "ensure-test-tools: installing moto (S3 server)" >&2
  rm -rf "$tools/venv"
  /usr/bin/python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q 'moto[server]==5.*'
fi

s3_up() { curl -sf -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; }
if ! s3_up; then
  echo "ensure-test-tools: starting S3 server on 127.0.0.1:$port" >&2
  nohup "$tools/venv/bin/moto_server" -H 127.0.0.1 -p "$port" \
    >"$tools/moto.log" 2>&1 </dev/null &
  for _ in $(seq 1 30); do
    s3_up && break
    sleep 0.5
  done
  s3_up || { echo "ensure-test-tools: S3 server did not start" >&2; cat "$tools/moto.log" >&2; exit 1; }
fi

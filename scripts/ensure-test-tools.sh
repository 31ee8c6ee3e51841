#!/usr/bin/env bash
# Installs the real peers the recording tests talk to, when missing:
#   - GStreamer with its RTSP server (a simulated IP camera, via python3-gi)
#   - ffmpeg/ffprobe (to check that recorded segments are valid fMP4)
#   - moto's S3 server (an S3-compatible object store on loopback), in a
#     virtualenv under $ARGUS_TOOLS (default ~/.cache/argus-tools)
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
/usr/bin/python3 -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "ensure-test-tools: installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" gstreamer1.0-plugins-base gstreamer1.0-plugins-good >/dev/null
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

# Sourced by bench/live_view.sh: installs what the benchmark needs (Debian
# packages, tests/browser's npm packages) and builds the release binaries.
# Invariant: installs only what is missing; Chromium is Debian's, never a
# download of playwright's.

apt_install() {
  local opts=(-o DPkg::Lock::Timeout=600)
  echo "live_view: installing $*" >&2
  apt-get "${opts[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -qq \
    --no-install-recommends "$@" >/dev/null
}

install_tools() {
  local pkgs=()
  command -v ffmpeg >/dev/null || pkgs+=(ffmpeg)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v python3 >/dev/null || pkgs+=(python3)
  command -v ip >/dev/null || pkgs+=(iproute2)
  if [ "$skip_browser" != 1 ]; then
    command -v chromium >/dev/null || pkgs+=(chromium fonts-dejavu-core)
    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)
  fi
  if [ "$skip_janus" != 1 ]; then
    command -v janus >/dev/null || pkgs+=(janus)
  fi
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"

  if [ "$skip_browser" != 1 ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "live_view: installing tests/browser's npm packages (npm ci)" >&2
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
      npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# Two invocations: the first is bench/relay_streams.sh's (same feature set,
# so neither rebuilds the other's binaries); the load client is an example
# of argus-api, built on its own.
build_all() {
  cargo build --release --locked --quiet -p argus -p argus-relay \
    --bin argus --bin argus-relay --example sim_clip
  cargo build --release --locked --quiet -p argus-api --example whep_viewers
  bin=$CARGO_TARGET_DIR/release
  viewers_bin=$bin/examples/whep_viewers
}

# Waits until `cmd...` succeeds, at most $1 tenths of a second.
wait_for() {
  local tries=$1
  shift
  for _ in $(seq 1 "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }

# Stops a process we started (by pid), politely then for good.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Sourced by bench/live_view.sh: the Janus side. Janus 1.1 (Debian) offers
# no loopback candidates, so it runs in a network namespace of our own,
# reached over a veth pair ($net.1 here, $net.2 in the namespace); only its
# streaming plugin and HTTP transport are loaded. ffmpeg replays the very
# clip the Argus relay pushes (same frames, size, bitrate) as RTP into its
# mountpoint 1.
# Invariants: traffic goes only to the namespace this script made; sets
# janus_pid / feed_pid / ns as soon as each exists, so the caller's trap
# removes them whatever fails after.

janus_rtp_port=5004
host_if=lvb-h$$
ns_if=lvb-j$$

start_netns() {
  ns=argus-live-bench-$$
  ip netns add "$ns"
  ip link add "$host_if" type veth peer name "$ns_if"
  ip link set "$ns_if" netns "$ns"
  ip addr add "$net.1/24" dev "$host_if"
  ip link set "$host_if" up
  ip netns exec "$ns" ip addr add "$net.2/24" dev "$ns_if"
  ip netns exec "$ns" ip link set "$ns_if" up
  ip netns exec "$ns" ip link set lo up
}

stop_netns() {
  [ -n "${ns:-}" ] || return 0
  ip netns del "$ns" 2>/dev/null || true # takes the veth pair with it
  ip link del "$host_if" 2>/dev/null || true
  ns=
}

# Our config folder, and plugin/transport folders holding only the two
# modules we use (the Debian package enables every plugin it ships).
janus_config() {
  local dir=$work/janus lib=/usr/lib/x86_64-linux-gnu/janus
  if [ ! -d "$lib" ]; then
    lib=$(find /usr/lib -name libjanus_streaming.so | head -1)
    lib=$(dirname "$(dirname "$lib")")
  fi
  mkdir -p "$dir/etc" "$dir/plugins" "$dir/transports" "$dir/none"
  ln -sf "$lib/plugins/libjanus_streaming.so" "$dir/plugins/"
  ln -sf "$lib/transports/libjanus_http.so" "$dir/transports/"
  for f in bench/live/janus/*.jcfg; do
    sed -e "s|@DIR@|$dir|g" -e "s|@IFACE@|$ns_if|g" -e "s|@PORT@|$janus_rtp_port|g" \
      "$f" >"$dir/etc/$(basename "$f")"
  done
}

janus_up() { curl -sf "http://$net.2:8088/janus/info"; }

start_janus() {
  start_netns
  janus_config
  # `ip netns exec` execs janus in place: $! is Janus's own pid.
  ip netns exec "$ns" janus -C "$work/janus/etc/janus.jcfg" -F "$work/janus/etc" \
    --disable-colors >"$work/janus.log" 2>&1 &
  janus_pid=$!
  wait_for 300 janus_up || { tail -20 "$work/janus.log"; return 1; }

  ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$work/clip.mp4" \
    -an -c copy -f rtp -payload_type 96 \
    "rtp://$net.2:$janus_rtp_port?pkt_size=$rtp_size" >"$work/feed.log" 2>&1 &
  feed_pid=$!
  sleep 2
}

stop_janus() {
  stop_pid "${feed_pid:-}"
  feed_pid=
  stop_pid "${janus_pid:-}"
  janus_pid=
  stop_netns
}

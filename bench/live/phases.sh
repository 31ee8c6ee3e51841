# Sourced by bench/live_view.sh: the two measurements, each writing JSON
# lines under $work/results for bench/live/table.py.
#
# first_frames GOP: one cold try (the relay not pushing yet), then, with a
# background viewer keeping the push up, $tries tries of
# tests/browser/watch.mjs, each after a random pause of up to one GOP so
# the WHEP POST lands at a random point of the camera's GOP. Chromium's
# `firstFrameMs` is from the POST to the first decoded frame.
#
# cpu_row TARGET N: N load-client viewers of TARGET (argus or janus); the
# client reads the server's /proc/PID/stat over the window itself.

watch_once() { # CAMERA OUT
  local url="$api_url/live-test#camera=$1&token=$token"
  node tests/browser/watch.mjs --url "$url" --seconds 1 --timeout 20 \
    >>"$2" 2>>"$work/watch.log" || echo '{"viewers":[{"error":"watch.mjs failed"}]}' >>"$2"
}

first_frames() {
  local gop=$1 cam=${cams[$1]} out=$work/results/first_frame_$1.jsonl
  local cold=$work/results/cold_$1.jsonl anchor
  token=$(argus_login)
  echo "live_view: first frame, GOP $gop frames: cold try, then $tries tries" >&2
  watch_once "$cam" "$cold"

  "$viewers_bin" --target argus --url "$api_url" --camera "$cam" --token "$token" \
    --viewers 1 --warmup 0 --seconds 3600 >"$work/anchor_$gop.json" 2>>"$work/client.log" &
  anchor=$!
  sleep 2
  for _ in $(seq 1 "$tries"); do
    sleep "$(awk -v r="$RANDOM" -v g="$gop" -v f="$fps" \
      'BEGIN { printf "%.3f", r / 32768 * g / f }')"
    watch_once "$cam" "$out"
  done
  stop_pid "$anchor"
}

cpu_row() { # TARGET N
  local target=$1 n=$2 args
  if [ "$target" = argus ]; then
    token=$(argus_login)
    args=(--url "$api_url" --camera "${cams[$cpu_gop]}" --token "$token" --pid "$api_pid")
  else
    args=(--url "http://$net.2:8088/janus" --mountpoint 1 --bind "$net.1" --pid "$janus_pid")
  fi
  echo "live_view: $target, $n viewers, ${warmup}s warm-up + ${window}s window" >&2
  "$viewers_bin" --target "$target" "${args[@]}" --viewers "$n" --warmup "$warmup" \
    --seconds "$window" --hz "$(getconf CLK_TCK)" >"$work/results/cpu_${target}_$n.json" \
    2>>"$work/client.log" || echo "live_view: the $target client failed (see client.log)" >&2
}

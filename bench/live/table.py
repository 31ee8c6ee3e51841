"""Prints bench/live_view.sh's results side by side (issue #4).

Usage: table.py RESULTS_DIR FPS WINDOW_SECS. Reads first_frame_GOP.jsonl /
cold_GOP.jsonl (watch.mjs lines) and cpu_TARGET_N.json (whep_viewers
lines). Percentiles are nearest-rank. A CPU row counts only if every
viewer connected and received packets in the window; otherwise it is
printed, marked INVALID, and left out of the per-viewer figures.
"""

import glob
import json
import math
import os
import re
import sys


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def watch_lines(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if line:
            out.append(json.loads(line)["viewers"][0])
    return out


def first_frame_part(d, fps):
    files = glob.glob(f"{d}/first_frame_*.jsonl")
    files.sort(key=lambda p: -int(re.findall(r"\d+", p)[-1]))
    if not files:
        print("1. first frame in Chromium: not run (BENCH_SKIP_BROWSER)")
        return
    print("1. WHEP POST -> first decoded frame in Chromium, tries at random points of the GOP")
    print(f"   {'keyframe every':>14} {'tries':>5} {'decoded':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'max ms':>7} {'cold ms':>8}  goal p95 < 300")
    for path in files:
        gop = int(re.findall(r"\d+", path)[-1])
        tries = watch_lines(path)
        ms = [t["firstFrameMs"] for t in tries if not t.get("error") and t.get("firstFrameMs")]
        cold = [t.get("firstFrameMs") for t in watch_lines(f"{d}/cold_{gop}.jsonl")]
        cold_s = f"{cold[0]}" if cold and cold[0] else "-"
        if ms:
            p50, p95 = nearest_rank(ms, 50), nearest_rank(ms, 95)
            goal = "yes" if p95 < 300 and len(ms) == len(tries) else "NO"
            print(f"   {gop / fps:>12.1f} s {len(tries):>5} {len(ms):>7} {p50:>7} {p95:>7} "
                  f"{max(ms):>7} {cold_s:>8}  {goal}")
        else:
            print(f"   {gop / fps:>12.1f} s {len(tries):>5} {0:>7}  no try decoded a frame")
        errors = sorted({t["error"] for t in tries if t.get("error")})
        for e in errors:
            print(f"     failed tries: {e}")
    print("   (cold: the one try made before the relay pushed, so it includes StartLive + WHIP;"
          " not in p50/p95)")


def cpu_rows(d, target):
    rows = {}
    for path in glob.glob(f"{d}/cpu_{target}_*.json"):
        n = int(re.findall(r"\d+", os.path.basename(path))[-1])
        text = open(path).read().strip()
        rows[n] = json.loads(text.splitlines()[-1]) if text else None
    return rows


def valid(r, n):
    return bool(r) and r["connected"] == n and not r["failed"] and min(r["packets"] or [0]) > 0


def cell(r, n):
    if not r:
        return f"{'no data':>20}"
    ok = sum(1 for p in r["packets"] if p > 0)
    mark = "" if valid(r, n) else " INVALID"
    return f"{r['server_cpu_pct']:>6.1f} {f'{ok}/{n}':>7} {r['pps_per_viewer']:>5.0f}{mark}"


def per_viewer(rows, n, base_n):
    r, b = rows.get(n), rows.get(base_n)
    if n == base_n or not (valid(r, n) and valid(b, base_n)):
        return None
    return (r["server_cpu_pct"] - b["server_cpu_pct"]) / (n - base_n)


def cpu_part(d, window):
    argus, janus = cpu_rows(d, "argus"), cpu_rows(d, "janus")
    counts = sorted(set(argus) | set(janus))
    if not counts:
        print("2. CPU per viewer: no rows")
        return
    base = counts[0]
    print(f"2. Server process CPU, % of one core over {window} s; got = viewers that"
          " received packets; pps = packets/s per viewer")
    print(f"   {'viewers':>7} | {'Argus':>6} {'got':>7} {'pps':>5} | {'Janus':>6} {'got':>7} "
          f"{'pps':>5} | client cpu% Argus/Janus")
    for n in counts:
        a, j = argus.get(n), janus.get(n)
        cli = "/".join(f"{r['client_cpu_pct']:.0f}" if r else "-" for r in (a, j))
        print(f"   {n:>7} | {cell(a, n)} | {cell(j, n)} | {cli}")
    print(f"   per extra viewer = (cpu% at N - cpu% at {base}) / (N - {base});"
          " goal: Argus <= 0.5 x Janus")
    print(f"   {'N':>7} {'Argus':>8} {'Janus':>8} {'ratio':>6}  goal")
    for n in counts[1:]:
        pa, pj = per_viewer(argus, n, base), per_viewer(janus, n, base)
        ratio = pa / pj if pa is not None and pj else None
        fmt = lambda x: f"{x:>8.3f}" if x is not None else f"{'invalid':>8}"
        goal = "-" if ratio is None else ("yes" if ratio <= 0.5 else "NO")
        shown = "-" if ratio is None else f"{ratio:.2f}"
        print(f"   {n:>7} {fmt(pa)} {fmt(pj)} {shown:>6}  {goal}")
    ba, bj = argus.get(base), janus.get(base)
    show = lambda r: f"{r['server_cpu_pct']:.1f}%" if r else "-"
    print(f"   base at {base} viewer: Argus {show(ba)} (argus dev: api + SFU + WHIP ingest + the"
          f" embedded S3 the relay records into), Janus {show(bj)} (RTP in + 1 viewer)")
    rate = lambda r: f"{r['kbps_per_viewer']:.0f} kbit/s" if r else "-"
    print(f"   what each viewer got at {base} viewer (same stream?): Argus {rate(ba)},"
          f" Janus {rate(bj)}")
    first = lambda rows: "/".join(str(rows[n].get("first_packet_ms_p50")) if rows.get(n) else "-"
                                  for n in counts)
    print(f"   load client, request to watch -> first RTP packet, p50 ms at {counts} viewers:"
          f" Argus {first(argus)}, Janus {first(janus)} (Janus sends no cached keyframe)")
    for target, rows in (("Argus", argus), ("Janus", janus)):
        for n, r in sorted(rows.items()):
            if r and r["failed"]:
                print(f"   {target} {n}: {len(r['failed'])} viewers failed: {r['failed'][0]}")


def main():
    d, fps, window = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print()
    for name in ("input.txt", "env.txt", "janus_failed.txt"):
        if os.path.exists(f"{d}/{name}"):
            print(open(f"{d}/{name}").read().rstrip())
    print()
    first_frame_part(d, fps)
    print()
    cpu_part(d, window)


main()

#!/usr/bin/python3
"""A simulated IP camera on loopback: GStreamer's RTSP server.

Serves a live test pattern (a moving ball) as H.264 or H.265 over RTSP,
optionally behind Basic/Digest auth, optionally without the parameter sets
in the SDP (so a client must take them from the stream), as some real
cameras do. Prints one line
`READY rtsp://127.0.0.1:PORT/PATH` to stdout when it accepts connections,
then runs until killed (SIGTERM/SIGINT/SIGKILL).

Usage (system python3 with gi; see shared/TESTBED.md):
  rtsp_camera.py --port 8554 --path cam --codec h264 --size 640x360 --fps 25 \
      --gop 50 [--slices 4] [--user U --password P] [--no-sprop]
      [--audio [pcmu|pcma|opus|aac]] [--no-video]
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


# Raw audio caps, encoder and payloader per codec; {n} is the payloader's index.
AUDIO = {
    "pcmu": "audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay pt=0 name=pay{n}",
    "pcma": "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay pt=8 name=pay{n}",
    "opus": "audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=97 name=pay{n}",
    "aac": "audio/x-raw,rate=16000,channels=1 ! voaacenc ! rtpmp4gpay pt=98 name=pay{n}",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8554, help="0 picks a free port")
    p.add_argument("--path", default="cam")
    p.add_argument("--codec", choices=["h264", "h265"], default="h264")
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--gop", type=int, default=50, help="keyframe interval, frames")
    p.add_argument("--slices", type=int, default=1, help="slices per frame (H.264)")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--audio", nargs="?", const="pcmu", choices=sorted(AUDIO),
                   help="add an audio track (a 440 Hz tone) in this codec (default pcmu)")
    p.add_argument("--no-video", action="store_true", help="serve only the audio track")
    p.add_argument("--no-sprop", action="store_true",
                   help="leave sprop-parameter-sets/sprop-vps/sps/pps out of the SDP")
    return p.parse_args()


def launch_line(a):
    width, height = a.size.split("x")
    src = (f"videotestsrc is-live=true pattern=ball ! "
           f"video/x-raw,width={width},height={height},framerate={a.fps}/1 ! ")
    if a.codec == "h264":
        enc = (f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.gop} "
               f"sliced-threads=false threads=1 option-string=slices={a.slices} ! "
               f"video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1")
    else:
        enc = (f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={a.gop} ! "
               f"rtph265pay name=pay0 pt=96 config-interval=-1")
    if a.no_sprop:
        # The RTSP server builds the SDP from the caps of the element named
        # pay0: a capssetter that replaces the payloader's caps wholesale
        # leaves the parameter sets out, so they travel only in-band.
        name = a.codec.upper()
        enc = enc.replace(" name=pay0", "") + (
            f" ! capssetter name=pay0 replace=true caps=\"application/x-rtp,"
            f"media=(string)video,clock-rate=(int)90000,encoding-name=(string){name},"
            f"payload=(int)96,packetization-mode=(string)1\"")
    audio = "audiotestsrc is-live=true wave=sine freq=440 ! " + AUDIO[a.audio or "pcmu"]
    if a.no_video:
        return f"( {audio.format(n=0)} )"
    if a.audio:
        return f"( {src}{enc} {audio.format(n=1)} )"
    return f"( {src}{enc} )"


def add_auth(server, factory, user, password):
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "camera-user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    role = Gst.Structure.from_string(
        "camera-user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")
    factory.add_role_from_structure(role[0])


def main():
    a = parse_args()
    Gst.init(None)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(a))
    # A camera with audio gives every client a pipeline of its own, as real
    # cameras serve every session: GStreamer's shared media answers a second
    # DESCRIBE with 503 once the first client set up only some streams.
    factory.set_shared(not a.audio)
    if a.user is not None:
        add_auth(server, factory, a.user, a.password or "")
    server.get_mount_points().add_factory("/" + a.path, factory)

    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}/{a.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

//! Writes the simulated camera's clip as an H.264 Annex B file, so another
//! tool (ffmpeg in `bench/relay_streams.sh`) can replay the very same input
//! the relay records.
//!
//! Usage: `cargo run --release -p argus-relay --example sim_clip -- URL OUT`
//! (URL like `sim://x?fps=25&size=1280x720&gop=50&bitrate=2000`). Prints
//! `frames fps bytes kbit/s` of one loop on stdout.

use argus_relay::source::sim::SimSource;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: sim_clip SIM_URL OUT.h264");
    };

    let source = SimSource::open(&url).await?;
    let stream = source.clip_annexb();
    std::fs::write(&out, &stream)?;

    let frames = source.clip_frames();
    let fps = source.spec().fps;
    let kbps = stream.len() as f64 * 8.0 * f64::from(fps) / frames as f64 / 1000.0;
    println!("{frames} {fps} {} {kbps:.0}", stream.len());
    Ok(())
}

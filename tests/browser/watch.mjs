// Watches a camera in real headless Chromium through the api's live-test
// page (web/live-test.html) and prints what the viewers saw as ONE JSON
// line on stdout (issue #4).
//
//   node watch.mjs --url 'http://127.0.0.1:PORT/live-test#camera=ID&token=JWT' \
//     --seconds 5 --screenshot out.png [--viewers 3] [--timeout 30] [--settle 2]
//
// Each viewer is a tab of one browser. `--settle` seconds after every
// viewer's first decoded frame (or `--timeout`), once the burst of a new
// viewer's cached GOP has played out, the window of `--seconds` starts:
// framesDecoded at its start (t0) and end (t1), the frame rate over it,
// the picture's pixel statistics; then the session is ended with DELETE. `--screenshot` saves
// viewer 1's page (viewer N > 1 gets `-N` before the extension).
//
// Invariants: Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), never
// a downloaded build, and starts with exactly the flags of TESTBED.md plus
// the pipe and profile Playwright needs; the URL's fragment (the token) is
// never printed. Exit 0: every viewer decoded; 1: a viewer failed or timed
// out (the JSON line still says which and why); 2: bad arguments or
// Chromium did not start.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// shared/TESTBED.md, "Browsers and WebRTC": loopback only, quiet.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

// The URL's fragment carries the token: cut it from anything printed.
function redact(text) {
  return String(text).replace(/#[^\s"'`]*/g, '#…');
}

function die(message) {
  process.stderr.write(`watch.mjs: ${redact(message)}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, seconds: 5, screenshot: null, viewers: 1, timeout: 30, settle: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (!key.startsWith('--') || !(key.slice(2) in opts) || value === undefined) {
      die(`bad argument ${key} (want --url --seconds --screenshot --viewers --timeout --settle)`);
    }
    opts[key.slice(2)] = value;
  }
  if (!opts.url) die('--url is required');
  for (const k of ['seconds', 'viewers', 'timeout', 'settle']) {
    opts[k] = Number(opts[k]);
    const min = k === 'settle' ? 0 : Number.MIN_VALUE;
    if (!(opts[k] >= min)) die(`--${k} must be a number ${min ? '> 0' : '>= 0'}`);
  }
  return opts;
}

/** Starts Chromium with our flags only; returns it and its profile dir. */
async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'argus-chromium-'));
  const args = [...FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe',
    '--no-startup-window'];
  try {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      ignoreDefaultArgs: true,
      args,
      timeout: 30_000,
    });
    return { browser, profile };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    return die(`Chromium did not start (scripts/ensure-test-tools.sh installs it): ${e.message}`);
  }
}

function screenshotPath(base, n) {
  if (!base || n === 1) return base;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? `${base.slice(0, dot)}-${n}${base.slice(dot)}` : `${base}-${n}`;
}

/** Opens the page; resolves once it plays, fails, or `timeoutS` passes. */
async function open(context, url, timeoutS) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => m.type() === 'error' && logs.push(redact(m.text())));
  page.on('pageerror', (e) => logs.push(redact(e)));
  await page.goto(url, { timeout: timeoutS * 1000 });
  await page.waitForFunction(
    () => window.argusLive && ['playing', 'failed'].includes(window.argusLive.state),
    null, { timeout: timeoutS * 1000, polling: 50 },
  ).catch(() => null);
  return { page, logs };
}

const sleep = (secs) => new Promise((r) => setTimeout(r, secs * 1000));

async function watch(viewers, opts) {
  const all = () => Promise.all(viewers.map(({ page }) => page.evaluate(snapshot)));
  const live = (states) => states.some((s) => s.state !== 'failed');
  if (live(await all())) await sleep(opts.settle);
  // A click on the picture turns the sound on, as a user would (a real
  // user gesture, so Chromium keeps playing unmuted).
  for (const { page } of viewers) await page.click('#video').catch(() => {});
  const t0 = await all();
  if (live(t0)) await sleep(opts.seconds);
  const t1 = await all();
  const results = [];
  for (const [i, v] of viewers.entries()) {
    const shot = screenshotPath(opts.screenshot, i + 1);
    if (shot) await v.page.screenshot({ path: shot });
    const stopped = await v.page.evaluate(() => window.argusLive.stop());
    results.push(report(t0[i], t1[i], shot, stopped, v.logs, opts.timeout));
  }
  return results;
}

// Runs in the page.
async function snapshot() {
  const live = window.argusLive;
  if (!live) return { state: 'no page', error: 'window.argusLive is missing' };
  const stats = await live.stats();
  return { state: live.state, error: live.error, stats, pixels: live.pixels() };
}

function report(a, b, screenshot, stopped, logs, timeoutS) {
  const stats0 = a.stats || {}, stats1 = b.stats || {};
  const secs = ((stats1.timestamp || 0) - (stats0.timestamp || 0)) / 1000;
  const decoded = (stats1.framesDecoded || 0) - (stats0.framesDecoded || 0);
  let error = b.error || a.error || null;
  if (!error && !(stats1.framesDecoded > 0)) {
    error = `no decoded frame within ${timeoutS} s (state ${b.state})`;
  }
  return {
    state: b.state, error,
    framesDecodedT0: stats0.framesDecoded || 0, framesDecodedT1: stats1.framesDecoded || 0,
    fps: secs > 0 ? Math.round((decoded / secs) * 100) / 100 : 0,
    windowSecs: Math.round(secs * 1000) / 1000,
    firstFrameMs: stats1.firstFrameMs ?? null, timing: stats1.timing ?? null,
    width: stats1.frameWidth || 0, height: stats1.frameHeight || 0,
    packetsLost: stats1.packetsLost || 0, keyFramesDecoded: stats1.keyFramesDecoded || 0,
    nackCount: stats1.nackCount || 0, pliCount: stats1.pliCount || 0,
    framesDropped: stats1.framesDropped || 0,
    audio: audioReport(stats0.audio, stats1.audio, secs),
    pixels: b.pixels || null, screenshot, deleteStatus: stopped, console: logs,
  };
}

// What the window brought of the camera's audio: packets and decoded
// samples per second, the last audio level (0..1) and the codec.
function audioReport(a = {}, b = {}, secs = 0) {
  const rate = (k) => (secs > 0 ? Math.round(((b[k] || 0) - (a[k] || 0)) / secs) : 0);
  const samples = (b.totalSamplesReceived || 0) - (a.totalSamplesReceived || 0);
  const concealed = (b.concealedSamples || 0) - (a.concealedSamples || 0);
  const energy = (b.totalAudioEnergy || 0) - (a.totalAudioEnergy || 0);
  return {
    mimeType: b.mimeType || null, packetsPerSec: rate('packetsReceived'),
    samplesPerSec: rate('totalSamplesReceived'), level: b.audioLevel || 0,
    concealedShare: samples > 0 ? Math.round((concealed / samples) * 1000) / 1000 : 0,
    // The mean power over the window (totalAudioEnergy per second; 0 is silence).
    power: secs > 0 ? Math.round((energy / secs) * 10000) / 10000 : 0,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { browser, profile } = await launch();
  let viewers = [];
  try {
    const context = await browser.newContext({ viewport: { width: 700, height: 480 } });
    const opening = [];
    for (let i = 0; i < opts.viewers; i++) opening.push(open(context, opts.url, opts.timeout));
    viewers = await Promise.all(opening);
    const results = await watch(viewers, opts);
    process.stdout.write(JSON.stringify({ seconds: opts.seconds, viewers: results }) + '\n');
    const failed = results.map((r, i) => r.error && `viewer ${i + 1}: ${r.error}`);
    for (const line of failed.filter(Boolean)) process.stderr.write(`watch.mjs: ${line}\n`);
    process.exitCode = failed.some(Boolean) ? 1 : 0;
  } catch (e) {
    process.stderr.write(`watch.mjs: watching ${redact(opts.url)} failed: ${redact(e.message)}\n`);
    process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();

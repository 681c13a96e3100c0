// SPDX-License-Identifier: Apache-2.0
// Plays an MP4 file in Debian's headless Chromium (driven by playwright-core)
// and prints JSON: how many frames the browser presented and how far it got.
// Usage: node play_mp4.mjs FILE.mp4 SECONDS
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';

const [file, secs] = [process.argv[2], Number(process.argv[3] || 3)];
const data = fs.readFileSync(file);
// Served over loopback HTTP (not file://) so the page behaves as in the app.
const server = http.createServer((req, res) => {
  if (req.url === '/v.mp4') {
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': data.length });
    res.end(data);
  } else {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><video id=v src="/v.mp4" muted playsinline></video>');
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
let result;
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  result = await page.evaluate(async (ms) => {
    const v = document.getElementById('v');
    const err = () => (v.error ? `media error ${v.error.code}: ${v.error.message}` : null);
    try { await v.play(); } catch (e) { return { error: String(e), mediaError: err() }; }
    await new Promise((r) => setTimeout(r, ms));
    const q = v.getVideoPlaybackQuality();
    return { frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, currentTime: v.currentTime,
             duration: v.duration, width: v.videoWidth, height: v.videoHeight, mediaError: err() };
  }, secs * 1000);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(result));

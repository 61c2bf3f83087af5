// The demo page: microphone -> AudioWorklet -> client library (resampling to 16 kHz s16le, resume on drops) -> /stream.
// Plain ES modules served by the server itself: no build step, no CDN.
import { StreamClient } from '/client/index.js';
import { openMicrophone } from '/microphone.js';
import { $, count, showModel, state } from '/page.js';

let client;
let audio;
let startedAt = 0;

async function start() {
  $('start').disabled = true;
  state('connecting');
  const microphone = await openMicrophone();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/stream`;
  const language = $('language').value;
  client = new StreamClient(url, { sampleRate: microphone.sampleRate, ...(language ? { language } : {}) });
  client.on('session', ({ resumed }) => state(resumed ? 'connected (resumed)' : 'connected', 'connected'));
  client.on('reconnecting', ({ attempt }) => state(`reconnecting (${attempt})`, 'reconnecting'));
  client.on('partial', (m) => {
    count('partials');
    $('partial').textContent = ` ${m.text}`;
    // end_ms is audio time; the audio at end_ms was captured at startedAt + end_ms.
    $('latency').textContent = `${Math.max(0, Math.round(performance.now() - startedAt - m.end_ms))} ms`;
  });
  client.on('final', (m) => {
    count('finals');
    $('partial').textContent = '';
    if (m.text) $('finals').textContent += `${$('finals').textContent ? ' ' : ''}${m.text}`;
  });
  client.on('error', (e) => console.warn('server error', e.code, e.message));
  client.on('closed', ({ code }) =>
    state(code === 1000 ? 'closed' : `closed (${code})`, code === 1000 ? 'idle' : 'error'),
  );
  await client.connect();
  startedAt = performance.now();
  microphone.start((block) => client.send(block));
  audio = microphone;
  $('stop').disabled = false;
}

async function stop() {
  $('stop').disabled = true;
  await audio?.close();
  await client?.end();
  $('start').disabled = false;
}

showModel();
$('start').addEventListener('click', () =>
  start().catch((error) => {
    console.error(error);
    state(`error: ${error.message}`, 'error');
    $('start').disabled = false;
  }),
);
$('stop').addEventListener('click', () => stop());

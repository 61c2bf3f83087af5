// The demo over Socket.IO: microphone -> AudioWorklet -> 50 ms chunks at the context's rate -> the /speech namespace,
// with the client bundle the server itself serves. A `?token=` on this page's URL is passed as `auth: { token }`.
import { io } from '/socket.io/socket.io.esm.min.js';
import { openMicrophone } from '/microphone.js';
import { $, count, showModel, state } from '/page.js';

showModel();
const token = new URLSearchParams(location.search).get('token');
const socket = io('/speech', { auth: token ? { token } : {} });
socket.on('connect', () => {
  state('connected');
  $('start').disabled = false;
});
socket.on('connect_error', (error) => state(`refused: ${error.message}`, 'error'));
socket.on('disconnect', (reason) => {
  state(`disconnected (${reason})`, 'error');
  $('start').disabled = true;
  $('stop').disabled = true;
});
socket.on('transcription-partial', (m) => {
  count('partials');
  $('partial').textContent = ` ${m.text}`;
});
socket.on('transcription-final', (m) => {
  count('finals');
  $('partial').textContent = '';
  if (m.text) $('finals').textContent += `${$('finals').textContent ? ' ' : ''}${m.text}`;
});
socket.on('transcription-error', (e) => console.warn('server error', e.code, e.message));

let audio;

/**
 * Float samples in -1..1 to s16, gathered into 50 ms chunks: one event per worklet block would be hundreds a second.
 */
function chunker(sampleRate, send) {
  const chunk = new Int16Array(Math.round(sampleRate / 20));
  let filled = 0;
  return (block) => {
    for (const sample of block) {
      chunk[filled++] = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
      if (filled === chunk.length) {
        send(chunk.slice().buffer);
        filled = 0;
      }
    }
  };
}

async function start() {
  $('start').disabled = true;
  const microphone = await openMicrophone();
  const reply = await socket.emitWithAck('start-transcription', {});
  if (reply.error) {
    await microphone.close();
    throw new Error(`${reply.error.code}: ${reply.error.message}`);
  }
  state('transcribing', 'connected');
  const { sampleRate } = microphone;
  microphone.start(
    chunker(sampleRate, (pcm) => {
      count('chunks');
      socket.emit('audio-chunk', { audio: pcm, sampleRate });
    }),
  );
  audio = microphone;
  $('stop').disabled = false;
}

async function stop() {
  $('stop').disabled = true;
  await audio?.close();
  audio = undefined;
  await socket.emitWithAck('stop-transcription');
  state('stopped', 'connected');
  $('start').disabled = false;
}

$('start').addEventListener('click', () =>
  start().catch((error) => {
    console.error(error);
    state(`error: ${error.message}`, 'error');
    $('start').disabled = false;
  }),
);
$('stop').addEventListener('click', () => stop());

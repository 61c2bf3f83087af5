/**
 * The server's entry point (`npm start`, `whisper-stream serve`). It only sizes libuv's thread pool, then loads
 * the server. Each running transcription holds a pool thread for its whole length (the addon runs whisper.cpp
 * there), so libuv's default of 4 would cap a bigger machine at 4 concurrent transcriptions and starve file and
 * DNS work. libuv sizes the pool once, at its first use, and loading an ES module already uses it: only a CommonJS
 * entry runs early enough. One thread per core covers the largest default pool, plus libuv's own 4.
 */
import { availableParallelism } from 'node:os';

process.env['UV_THREADPOOL_SIZE'] ??= String(availableParallelism() + 4);
void import('./serve.js');

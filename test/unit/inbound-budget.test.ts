/** The inbound budget on a fake clock: what conforming clients never meet, and what stops the others. */
import t from 'tap';
import {
  FLUSH_BURST,
  InboundBudget,
  MAX_AUDIO_DEBT_MS,
  TEXT_BYTES_PER_MS,
  type Charge,
  type InboundLimits,
} from '../../server/ws/inbound-budget.js';

const LIMITS: InboundLimits = {
  maxAudioRate: 1.5,
  audioBurstMs: 10_000,
  resumeBurstMs: 46_000,
  maxControlPerS: 10,
  maxFlushesPerS: 1,
};

function budget(limits: Partial<InboundLimits> = {}): { budget: InboundBudget; advance: (ms: number) => void } {
  let now = 0;
  return { budget: new InboundBudget({ ...LIMITS, ...limits }, () => now), advance: (ms) => (now += ms) };
}

const waitOf = (charge: Charge): number => {
  if ('limit' in charge) throw new Error(`closed: ${charge.limit}`);
  return charge.waitMs;
};

/** Sends `ms` of audio at once in frames of `frameMs` (binary); returns the longest wait asked for. */
function burst(b: InboundBudget, ms: number, frameMs: number): number {
  let longest = 0;
  for (let sent = 0; sent < ms; sent += frameMs) {
    waitOf(b.message(0));
    longest = Math.max(longest, waitOf(b.audioMs(frameMs)));
  }
  return longest;
}

t.test('10 ms and 20 ms frames at real time for an hour: never paced, never closed', async (t) => {
  for (const frameMs of [10, 20]) {
    const { budget: b, advance } = budget();
    let longest = 0;
    for (let ms = 0; ms < 3_600_000; ms += frameMs) {
      waitOf(b.message(0));
      longest = Math.max(longest, waitOf(b.audioMs(frameMs)));
      advance(frameMs);
    }
    t.equal(longest, 0, `${frameMs} ms frames`);
  }
});

t.test('a backlog as long as the burst, resent at once in 10 ms frames, is taken without pausing', async (t) => {
  const { budget: b } = budget();
  t.equal(burst(b, 10_000, 10), 0);
});

t.test(
  'after a resume, the resume window’s backlog is taken at once too; then the stream goes on in real time',
  async (t) => {
    const { budget: b, advance } = budget();
    b.resumed();
    t.equal(
      burst(b, 56_000, 10),
      0,
      'RESUME_TTL_MS + MAX_UTTERANCE_MS + ACK_INTERVAL_MS + AUDIO_BURST_MS of 10 ms frames',
    );
    let longest = 0;
    for (let ms = 0; ms < 60_000; ms += 20) {
      waitOf(b.message(0));
      longest = Math.max(longest, waitOf(b.audioMs(20)));
      advance(20);
    }
    t.equal(longest, 0, 'a real-time stream after the resend is not paced');
  },
);

t.test('audio past the burst is paced at MAX_AUDIO_RATE, never closed while reads pause', async (t) => {
  const { budget: b, advance } = budget();
  t.equal(burst(b, 11_000, 100), 0, 'the burst and one second of real time');
  const wait = waitOf(b.audioMs(1000));
  t.equal(wait, 667, 'one more second waits for 1 s / 1.5');
  advance(wait);
  t.equal(waitOf(b.audioMs(0)), 0, 'and is then out of debt');
});

t.test('a transport that keeps delivering while paced (long-polling) is closed once 30 s more are owed', async (t) => {
  const { budget: b } = budget();
  burst(b, 11_000, 1000);
  let owed = 0;
  let closed: string | null = null;
  while (closed === null && owed < 60) {
    const charge = b.audioMs(1000);
    if ('limit' in charge) closed = charge.limit;
    else owed++;
  }
  t.equal(owed, MAX_AUDIO_DEBT_MS / 1000);
  t.match(closed, /audio more than 30 s ahead of MAX_AUDIO_RATE/);
});

t.test('text is charged as audio by its bytes: base64 24 kHz audio costs its duration', async (t) => {
  const { budget: b } = budget();
  // 11 s of base64 audio in 100 ms appends: the burst and its headroom, exactly.
  for (let i = 0; i < 110; i++) t.equal(waitOf(b.message(6400)), 0);
  t.ok(waitOf(b.message(TEXT_BYTES_PER_MS * 150)) > 0, 'the next 150 ms of it are paced');
});

t.test('a flood of empty or one-sample messages is closed after 1 ms frames’ worth of the burst', async (t) => {
  const { budget: b } = budget();
  let taken = 0;
  let closed: string | null = null;
  while (closed === null && taken < 1_000_000) {
    const charge = b.message(0);
    if ('limit' in charge) closed = charge.limit;
    else taken++;
  }
  t.equal(taken, 11_000);
  t.match(closed, /more than 1500 messages a second \(after 11000 at once\)/);
});

t.test('messages without audio: twice MAX_CONTROL_PER_S at once, then MAX_CONTROL_PER_S a second', async (t) => {
  const { budget: b, advance } = budget();
  for (let i = 0; i < 20; i++) t.equal(b.controlMessage(), null);
  t.match(b.controlMessage(), /more than 10 messages without audio a second \(MAX_CONTROL_PER_S\)/);
  advance(1000);
  for (let i = 0; i < 10; i++) t.equal(b.controlMessage(), null, 'refilled at 10 a second');
  t.not(b.controlMessage(), null);
});

t.test('utterance-ending messages: FLUSH_BURST at once, then each waits its turn at MAX_FLUSHES_PER_S', async (t) => {
  const { budget: b, advance } = budget({ maxFlushesPerS: 2 });
  for (let i = 0; i < FLUSH_BURST; i++) t.equal(b.flush(), 0);
  t.equal(b.flush(), 500, 'the next waits half a second');
  advance(500);
  t.equal(b.flush(), 500, 'and so does the one after it');
  advance(3000);
  t.equal(b.flush(), 0, 'a pause gives some back');
});

/**
 * Resumes under abuse (issue 24, adversarial rows 17 and 18): another client's drops from many addresses do not evict
 * a victim's detached session, and a client's failed resumes are throttled before each would start a new session.
 */
import t from 'tap';
import { StreamClient } from '../bench/lib/raw-stream-client.js';
import { FAILED_RESUMES_PER_MINUTE } from '../server/sessions/resume-throttle.js';
import { pollUntil, within } from '../bench/lib/wait.js';
import { speech } from './helpers/engine-fixtures.js';
import { startTestServer } from './helpers/stream-server.js';

const MAX_DETACHED = 6;
const MAX_DETACHED_PER_ADDRESS = 2;
const ATTACKER_ADDRESSES = 4;
const app = await startTestServer({
  MAX_DETACHED_SESSIONS: String(MAX_DETACHED),
  MAX_DETACHED_PER_PRINCIPAL: String(MAX_DETACHED_PER_ADDRESS),
  MAX_SESSIONS: '40',
});
t.teardown(() => app.close());
const frame = speech('jfk.wav').subarray(16000, 16000 + 3200);

interface Announced {
  client: StreamClient;
  session_id: string;
  resume_token: string;
}

/** A /stream session from `localAddress` that has received some audio. */
async function open(localAddress: string): Promise<Announced> {
  const client = await within(
    StreamClient.connect(app.streamUrl, { localAddress }),
    `connection from ${localAddress}`,
    10_000,
  );
  t.teardown(() => client.ws.terminate());
  const session = await within(client.session(), `session message for ${localAddress}`, 10_000);
  client.sendBytes(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  return { client, ...session };
}

/** Drops the connection without a close frame and waits until the server has detached its session. */
async function drop(session: Announced): Promise<void> {
  const attachedBefore = (await sessions()).attached;
  session.client.drop();
  await pollUntil(sessions, (stats) => stats.attached < attachedBefore, {
    what: 'detachment of the dropped session',
    timeoutMs: 10_000,
  });
}

async function sessions(): Promise<{ attached: number; detached: number }> {
  const stats = (await (await fetch(`${app.httpUrl}/stats`)).json()) as {
    sessions: { attached: number; detached: number };
  };
  return stats.sessions;
}

/** How the server answers a resume by query string: 'resumed', 'resume_failed', or the HTTP status refusing it. */
async function resume(sessionId: string, token: string, localAddress: string): Promise<string> {
  const query = new URLSearchParams({ session_id: sessionId, resume_token: token, last_seq: '-1' });
  let client: StreamClient;
  try {
    client = await StreamClient.connect(`${app.streamUrl}?${query}`, { localAddress });
  } catch (error) {
    return /Unexpected server response: (\d+)/.exec((error as Error).message)?.[1] ?? (error as Error).message;
  }
  t.teardown(() => client.ws.terminate());
  const answer = await within(
    client.waitFor((m) => m['type'] === 'resumed' || (m['type'] === 'error' && m['code'] === 'resume_failed')),
    'answer to a resume',
    10_000,
  );
  client.ws.terminate();
  return answer['type'] === 'resumed' ? 'resumed' : 'resume_failed';
}

t.test('drops from many other addresses do not evict a session detached before them', async (t) => {
  const victim = await open('127.0.0.1');
  await drop(victim);
  // More drops than the global quota, from fewer addresses than it, each within its own quota (the attack was 60
  // drops from 15 addresses against the default 50).
  for (let address = 2; address < 2 + ATTACKER_ADDRESSES; address++) {
    for (let i = 0; i < MAX_DETACHED_PER_ADDRESS; i++) await drop(await open(`127.0.0.${address}`));
  }
  t.equal((await sessions()).detached, MAX_DETACHED, 'the global quota holds');
  t.equal(
    await resume(victim.session_id, victim.resume_token, '127.0.0.1'),
    'resumed',
    'the victim resumes its session',
  );
});

t.test(
  `after ${FAILED_RESUMES_PER_MINUTE} failed resumes in a minute a client is refused (429) before a new session starts`,
  async (t) => {
    const guesser = '127.0.0.30';
    const answers: string[] = [];
    for (let i = 0; i <= FAILED_RESUMES_PER_MINUTE; i++)
      answers.push(await resume(`no-such-session-${i}`, 'guess', guesser));
    t.same(
      answers.slice(0, FAILED_RESUMES_PER_MINUTE),
      Array(FAILED_RESUMES_PER_MINUTE).fill('resume_failed'),
      'the first ones fail as usual',
    );
    t.equal(answers.at(-1), '429', 'the next is refused at the handshake');
    const bystander = await open('127.0.0.31');
    await drop(bystander);
    t.equal(
      await resume(bystander.session_id, bystander.resume_token, '127.0.0.31'),
      'resumed',
      'another address resumes as usual',
    );
  },
);

import t from 'tap';
import { hashApiKey } from '../server/auth/authenticator.js';
import { ConfigError, HELP, loadConfig } from '../server/config.js';
import { parseCommand, resumeFromQuery } from '../protocol/stream.js';
import { parseSpeechCommand } from '../protocol/speech.js';

const query = (target: string): URLSearchParams => new URL(target, 'http://server').searchParams;

t.test('resume as a message and in the query string', async (t) => {
  t.same(parseCommand('{"type":"resume","session_id":"s","resume_token":"r","last_seq":4}'), {
    type: 'resume',
    sessionId: 's',
    resumeToken: 'r',
    lastSeq: 4,
  });
  t.same(
    parseCommand('{"type":"resume","session_id":"s","resume_token":"r"}'),
    { type: 'resume', sessionId: 's', resumeToken: 'r', lastSeq: -1 },
    'last_seq defaults to none',
  );
  for (const bad of [
    '{"type":"resume","session_id":"s"}',
    '{"type":"resume","session_id":"s","resume_token":"r","last_seq":-2}',
    '{"type":"resume","session_id":1,"resume_token":"r"}',
  ]) {
    t.throws(() => parseCommand(bad), { code: 'bad_message' }, bad);
  }
  t.equal(resumeFromQuery(query('/stream')), null, 'no resume');
  t.equal(resumeFromQuery(query('/stream?token=abc')), null, 'a credential is no resume');
  t.same(resumeFromQuery(query('/stream?session_id=s&resume_token=r&last_seq=9')), {
    sessionId: 's',
    resumeToken: 'r',
    lastSeq: 9,
  });
  t.same(resumeFromQuery(query('/stream?session_id=s&resume_token=r')), {
    sessionId: 's',
    resumeToken: 'r',
    lastSeq: -1,
  });
  t.equal(resumeFromQuery(query('/stream?session_id=s')), 'malformed');
  t.equal(resumeFromQuery(query('/stream?session_id=s&resume_token=r&last_seq=x')), 'malformed');
});

t.test('/speech commands', async (t) => {
  t.same(parseSpeechCommand('{"type":"start","language":"de"}'), { type: 'start', language: 'de' });
  t.same(parseSpeechCommand('{"type":"start"}'), { type: 'start', language: undefined });
  t.same(parseSpeechCommand('{"type":"stop"}'), { type: 'stop' });
  t.throws(() => parseSpeechCommand('{"type":"start","language":3}'), { code: 'bad_message' });
  t.throws(() => parseSpeechCommand('{"type":"pause"}'), { code: 'unknown_type' });
  t.throws(() => parseSpeechCommand('nope'), { code: 'bad_json' });
});

t.test('session, limit and auth settings', async (t) => {
  t.match(loadConfig([], {}), {
    finalBeamSize: 3,
    strategy: 'adaptive',
    resumeTtlMs: 30000,
    pingIntervalMs: 15000,
    ackIntervalMs: 1000,
    idleTimeoutMs: 60000,
    maxSessions: 100,
    apiKeyHashes: [],
    jwtSecret: undefined,
  });
  const hash = hashApiKey('k');
  t.match(
    loadConfig([], { API_KEY_HASHES: ` ${hash.toUpperCase()}, ${hashApiKey('j')} ` }),
    { apiKeyHashes: [hash, hashApiKey('j')] },
    'trimmed, lower-cased',
  );
  t.throws(() => loadConfig([], { API_KEY_HASHES: 'the-key-itself' }), ConfigError, 'a raw key is refused');
  t.throws(() => loadConfig(['--final-beam-size', '0'], {}), ConfigError);
  for (const env of [
    'RESUME_TTL_MS',
    'PING_INTERVAL_MS',
    'ACK_INTERVAL_MS',
    'IDLE_TIMEOUT_MS',
    'MAX_SESSION_MS',
    'MAX_SESSIONS',
    'OVERLOAD_PENDING_MS',
    'FINAL_BEAM_SIZE',
    'API_KEY_HASHES',
    'JWT_SECRET',
  ]) {
    t.match(HELP, env, `--help lists ${env}`);
  }
});

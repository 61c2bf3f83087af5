/**
 * Bounds on what clients and operators hand the server: prompts by what they cost, query parameters given once, JWT
 * secrets.
 */
import t from 'tap';
import { ProtocolError, checkPrompt, MAX_PROMPT_BYTES, MAX_PROMPT_WORD_BYTES } from '../../protocol/errors.js';
import { parseListenQuery } from '../../protocol/deepgram.js';
import { parseStreamingQuery } from '../../protocol/assemblyai.js';
import { ConfigError, loadConfig } from '../../server/config.js';

t.test('prompts are bounded by their UTF-8 bytes and their longest word, not by characters', async (t) => {
  const refused = (prompt: string, what: string): void => {
    t.throws(() => checkPrompt(prompt), new ProtocolError('prompt_too_long', ''), what);
  };
  refused('😀'.repeat(512), '512 emoji (1,024 characters, 2,048 bytes)');
  refused('a'.repeat(1024), 'one word of 1,024 letters');
  refused(`${'😀 '.repeat(340)}`, 'a kilobyte of spaced emoji and then some');
  refused('x'.repeat(MAX_PROMPT_WORD_BYTES + 1), 'one byte past the longest word');
  const english = 'Kubernetes kubectl Dr. Ng '.repeat(100).slice(0, MAX_PROMPT_BYTES);
  t.equal(checkPrompt(english), english, 'a kilobyte of ordinary words');
  const chinese = '以下是普通话的句子'.repeat(9);
  t.equal(checkPrompt(chinese), chinese, '81 CJK characters without a space');
  t.equal(checkPrompt('😀'.repeat(64)), '😀'.repeat(64), '64 emoji in a row');
});

t.test('a parameter the server reads once is refused when given twice', async (t) => {
  t.throws(
    () => parseListenQuery(new URLSearchParams('encoding=linear16&sample_rate=48000&sample_rate=16000')),
    new ProtocolError('bad_option', 'sample_rate is given 2 times; give it once'),
  );
  t.throws(
    () => parseListenQuery(new URLSearchParams('encoding=linear16&encoding=mulaw&sample_rate=16000')),
    new ProtocolError('bad_option', ''),
  );
  t.throws(
    () => parseStreamingQuery(new URLSearchParams('sample_rate=16000&sample_rate=8000')),
    new ProtocolError('bad_option', ''),
  );
  t.match(
    parseListenQuery(new URLSearchParams('encoding=linear16&sample_rate=16000&keyterm=a&keyterm=b')),
    { prompt: 'a, b' },
    'keyterm repeats, as Deepgram’s does',
  );
});

t.test('JWT_SECRET is counted in characters: 8 emoji (32 bytes) are refused', async (t) => {
  t.throws(() => loadConfig([], { JWT_SECRET: '🔑'.repeat(8) }), ConfigError);
  t.match(loadConfig([], { JWT_SECRET: '🔑'.repeat(32) }), { jwtSecret: '🔑'.repeat(32) });
});

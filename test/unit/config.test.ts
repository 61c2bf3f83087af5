// Settings as an operator meets them, without starting anything: help that shows every default, and a mistyped flag
// answered with the one it was probably meant to be.
import t from 'tap';
import { ConfigError, HELP, loadConfig } from '../../server/config.js';
import { closest } from '../../server/did-you-mean.js';

t.test('--help shows a default for every setting, never "undefined"', async (t) => {
  const settings = HELP.split('\n').filter((line) => line.startsWith('  --') && line.trim() !== '--help');
  t.ok(settings.length > 40, `${settings.length} settings listed`);
  t.same(
    settings.filter((line) => !/\(default: .+\)$/.test(line)),
    [],
    'each ends with its default',
  );
  t.notMatch(HELP, /default: undefined/, 'unset settings say none');
  t.match(HELP, /--forward-url <value> +FORWARD_URL .*\(default: none\)$/m);
});

t.test('a mistyped flag is refused with the nearest one; an unknown one alone', async (t) => {
  t.throws(() => loadConfig(['--prot', '9000'], {}), new ConfigError('unknown option --prot; did you mean --port?'));
  const sessions = { message: 'unknown option --max-sesions; did you mean --max-sessions?' };
  t.throws(() => loadConfig(['--max-sesions', '5'], {}), sessions);
  t.throws(() => loadConfig(['--colour'], {}), new ConfigError('unknown option --colour'), 'nothing near it: no guess');
  t.throws(() => loadConfig(['--port'], {}), { name: 'ConfigError', message: /--port <value>' argument missing/ });
});

t.test('the nearest name: typos and prefixes, not strangers', async (t) => {
  t.equal(closest('transcrbe', ['serve', 'transcribe', 'mic', 'models']), 'transcribe');
  t.equal(closest('model', ['serve', 'transcribe', 'mic', 'models']), 'models');
  t.equal(closest('langauge', ['language', 'token', 'url']), 'language');
  t.equal(closest('xyz', ['serve', 'transcribe', 'mic', 'models']), undefined);
});

t.test('the buffered-bytes limit says what happens: the client is dropped, without a close frame', async (t) => {
  t.match(HELP, /--max-buffered-bytes .*drops it, without a close frame/);
  t.notMatch(HELP, /--max-buffered-bytes .*1008/);
});

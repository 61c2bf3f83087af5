// The error codes of each layer live in one table each, and the docs list every one: HTTP refusals
// (protocol/http-errors.ts, PROTOCOL.md) and the engine's (engine/error-codes.json, ENGINE.md, the C++ built from it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ENGINE_ERROR_CODES, engineErrorCode } from '../../engine/errors.js';
import { projectRoot } from '../../engine/paths.js';
import { HTTP_ERRORS } from '../../protocol/http-errors.js';

const doc = (name: string): string => readFileSync(join(projectRoot, 'docs', name), 'utf8');

t.test('PROTOCOL.md lists every HTTP refusal code with its status', async (t) => {
  const protocol = doc('PROTOCOL.md');
  for (const [code, status] of Object.entries(HTTP_ERRORS)) {
    t.ok(protocol.includes(`| \`${code}\` | ${status} |`), `${code} (${status})`);
  }
});

t.test('ENGINE.md lists every engine error code, and engineErrorCode knows them all', async (t) => {
  const engine = doc('ENGINE.md');
  for (const code of Object.keys(ENGINE_ERROR_CODES)) {
    t.ok(engine.includes(`| \`${code}\` |`), `${code} is documented`);
    t.equal(engineErrorCode(Object.assign(new Error('x'), { code })), code, `${code} is recognised`);
  }
  const unknown = Object.assign(new Error('x'), { code: 'NOT_A_CODE' });
  t.equal(engineErrorCode(unknown), 'INFERENCE_FAILED', 'an unknown code is not');
});

const header = join(projectRoot, 'build', 'cmake', 'generated', 'error_codes.h');
t.test('the addon was built from the same table', { skip: !existsSync(header) && 'no build/cmake here' }, async (t) => {
  const constants = [...readFileSync(header, 'utf8').matchAll(/constexpr ErrorCode (\w+)\{"(\w+)"\};/g)];
  const expected = Object.keys(ENGINE_ERROR_CODES).map((code) => [code, code]);
  t.same(
    constants.map(([, name, value]) => [name, value]),
    expected,
  );
});

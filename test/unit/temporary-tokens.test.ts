// Temporary tokens (server/auth/temporary-tokens.ts) on an injected clock: they expire as asked, open only the
// endpoint they were minted for, single-use ones open it once, and nothing forged or altered is accepted.
import t from 'tap';
import { MAX_TOKEN_LIFETIME_S, TemporaryTokens } from '../../server/auth/temporary-tokens.js';

const grant = { scope: '/v3/ws', principal: 'key:0123456789ab', singleUse: true };

t.test('a token opens its endpoint until it expires, once when single-use', async (t) => {
  let now = 1_000_000;
  const tokens = new TemporaryTokens(TemporaryTokens.keyFrom('a shared secret of thirty-two characters'), () => now);
  const { token, expiresAtMs } = tokens.issue(grant, 60);
  t.equal(expiresAtMs, now + 60_000);
  t.match(token, /^ek_[\w-]+\.[\w-]+$/, 'ek_ then two base64url parts: never taken for a JWT (three)');
  t.same(
    tokens.redeem(token, '/v1/realtime'),
    { ok: false, reason: 'this temporary token is for /v3/ws only' },
    'another endpoint',
  );
  t.match(tokens.redeem(token, undefined), { ok: false }, 'no endpoint (an upload, Socket.IO)');
  t.same(
    tokens.redeem(token, '/v3/ws'),
    { ok: true, principal: 'key:0123456789ab' },
    'its endpoint, counted against its key',
  );
  t.same(tokens.redeem(token, '/v3/ws'), {
    ok: false,
    reason: 'this temporary token was used already (each opens one session)',
  });

  const reusable = tokens.issue({ ...grant, scope: '/v1/realtime', singleUse: false }, 10).token;
  t.match(tokens.redeem(reusable, '/v1/realtime'), { ok: true });
  t.match(
    tokens.redeem(reusable, '/v1/realtime'),
    { ok: true },
    'an OpenAI client secret opens sessions until it expires',
  );
  now += 10_000;
  t.same(tokens.redeem(reusable, '/v1/realtime'), { ok: false, reason: 'token expired' });
});

t.test('lifetimes are bounded; forged, altered and foreign tokens are refused', async (t) => {
  const tokens = new TemporaryTokens(TemporaryTokens.keyFrom('a shared secret of thirty-two characters'));
  t.throws(() => tokens.issue(grant, 0), RangeError);
  t.throws(() => tokens.issue(grant, MAX_TOKEN_LIFETIME_S + 1), RangeError);
  const { token } = tokens.issue(grant, 60);
  const [body, mac] = token.slice(3).split('.') as [string, string];
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
  const longer = Buffer.from(JSON.stringify({ ...payload, e: Date.now() + 86_400_000 })).toString('base64url');
  t.match(
    tokens.redeem(`ek_${longer}.${mac}`, '/v3/ws'),
    { ok: false, reason: 'invalid credential' },
    'a lifetime stretched by hand',
  );
  t.match(tokens.redeem(`ek_${body}.${mac.slice(0, -2)}`, '/v3/ws'), { ok: false }, 'a cut signature');
  t.match(tokens.redeem('ek_nonsense', '/v3/ws'), { ok: false });
  t.match(tokens.redeem(`ek_${body}`, '/v3/ws'), { ok: false });
  const sameSecret = new TemporaryTokens(TemporaryTokens.keyFrom('a shared secret of thirty-two characters'));
  t.match(sameSecret.redeem(token, '/v3/ws'), { ok: true }, 'another instance with the same JWT_SECRET accepts it');
  const otherProcess = new TemporaryTokens(TemporaryTokens.keyFrom(undefined));
  t.match(otherProcess.redeem(tokens.issue(grant, 60).token, '/v3/ws'), { ok: false }, 'one without it does not');
});

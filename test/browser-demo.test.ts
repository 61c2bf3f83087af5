import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fixturesDir, projectRoot } from '../engine/index.js';
import { launchWithMicrophone, noChromium } from './helpers/chromium.js';
import { startTestServer } from './helpers/stream-server.js';

const artifacts = join(projectRoot, 'test-results');

t.test(
  'the browser demo streams a (fake) microphone and shows partials and finals',
  { skip: noChromium },
  async (t) => {
    const app = await startTestServer();
    t.teardown(() => app.close());
    const browser = await launchWithMicrophone(join(fixturesDir, 'speech', 'jfk.wav'));
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${app.httpUrl}/`);
    await page.waitForSelector('#model-notice', { state: 'visible' });
    t.match(
      await page.textContent('#model-notice'),
      /synthetic stand-in model: transcripts are nonsense\. Run npm run models:fetch/,
      'the synthetic model is called out',
    );
    t.equal(await page.textContent('#model'), 'ggml-tiny.en-synthetic.bin (synthetic)', 'model indicator');
    await page.click('#start');
    await page.waitForFunction(
      () => Number(document.body.dataset['finals'] ?? 0) >= 1 && Number(document.body.dataset['partials'] ?? 0) >= 1,
    );
    t.match(await page.textContent('#connection'), /connected/, 'connection indicator');
    t.match(await page.textContent('#latency'), /^\d+ ms$/, 'latency indicator');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'browser-demo.png') });
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'closed');
    t.same(problems, [], `no errors in the page: ${problems.join('; ')}`);
  },
);

t.test('the Socket.IO demo page calls the synthetic model out too', { skip: noChromium }, async (t) => {
  const app = await startTestServer();
  t.teardown(() => app.close());
  const browser = await launchWithMicrophone(join(fixturesDir, 'speech', 'jfk.wav'));
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${app.httpUrl}/socketio.html`);
  await page.waitForSelector('#model-notice', { state: 'visible' });
  t.match(await page.textContent('#model-notice'), /synthetic stand-in model: transcripts are nonsense/, 'the notice');
  t.equal(await page.textContent('#model'), 'ggml-tiny.en-synthetic.bin (synthetic)', 'model indicator');
});

/** Debian's headless Chromium with a fake microphone that plays a WAV file, for the browser tests. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** The reason to skip a browser test, or false when Chromium is there. */
export const noChromium: string | false = !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`;

export function launchWithMicrophone(wavPath: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wavPath}`,
    ],
  });
}

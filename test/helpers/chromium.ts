/** Debian's headless Chromium with a fake microphone that plays a WAV file, for the browser tests. */
import { chromium, type Browser } from 'playwright-core';
import { needs, programPath } from './system-programs.js';

/** The reason to skip a browser test, or false when Chromium is there. */
export const noChromium: string | false = needs('chromium');

export function launchWithMicrophone(wavPath: string): Promise<Browser> {
  return chromium.launch({
    executablePath: programPath('chromium') ?? 'chromium',
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

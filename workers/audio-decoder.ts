/** One worker thread that decodes uploaded audio (decode-task.ts), so large or odd files never stall the event loop. */
import { Piscina } from 'piscina';

export class AudioDecoder {
  private readonly piscina = new Piscina({
    filename: new URL('./decode-task.js', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: 30_000,
  });

  /** 16 kHz mono PCM of a WAV file whose header was already checked (readWavHeader). */
  decode(file: Uint8Array): Promise<Int16Array> {
    const copy = file.slice();
    return this.piscina.run(copy, { name: 'decode', transferList: [copy.buffer] }) as Promise<Int16Array>;
  }

  close(): Promise<void> {
    return this.piscina.destroy();
  }
}

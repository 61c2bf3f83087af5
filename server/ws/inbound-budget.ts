/**
 * What one connection may send, counted by what it costs rather than by messages: audio by its duration (text by its
 * bytes, at the rate of the densest audio a protocol carries as text), paced against real time after a burst that
 * covers a resume's resend; the message count only to stop floods of tiny messages; control messages, and the
 * utterance-ending ones among them, by small budgets of their own.
 */
import { TokenBucket } from './token-bucket.js';

export interface InboundLimits {
  /** Sustained audio, in multiples of real time, once the burst is spent. */
  maxAudioRate: number;
  audioBurstMs: number;
  /** Added to the burst of a connection that resumed a session: the most audio its client may have to send again. */
  resumeBurstMs: number;
  /** Messages without audio (configuration, keep-alives, flushes, ...) a second; twice as many at once. */
  maxControlPerS: number;
  /** Utterance-ending messages (each costs a final) a second, after FLUSH_BURST of them. */
  maxFlushesPerS: number;
}

/** What a charge asks of the connection: to be read more slowly for `waitMs` (0: not at all), or to be closed. */
export type Charge = { waitMs: number } | { limit: string };

/**
 * Text is charged as audio at this many bytes a millisecond: base64 of 24 kHz 16-bit PCM (OpenAI Realtime's
 * input_audio_buffer.append), the densest audio any protocol sends as text, so audio sent as text costs its duration.
 */
export const TEXT_BYTES_PER_MS = 64;
/**
 * Messages are allowed as if each carried this much audio, at the audio's rate and burst. Frames of 2.5 ms or more
 * (an AudioWorklet's 128 samples at 48 kHz) spend the audio budget first and are paced long before they could reach
 * this limit; a flood of empty or one-sample frames reaches it.
 */
export const MIN_MESSAGE_MS = 1;
export const CONTROL_BURST_S = 2;
export const FLUSH_BURST = 5;
/** Real time on top of the burst: a client streaming at exactly real time never dips into its burst. */
const HEADROOM_MS = 1000;
/**
 * Reads pause while the audio budget is in debt, so a client gets into debt by at most what one read held: 64 KiB,
 * 4 s of 8 kHz PCM, or one text message of 1 MiB, 16 s of base64 audio. Only a transport that cannot stop reading
 * (Socket.IO long-polling) gets further, and is closed past this.
 */
export const MAX_AUDIO_DEBT_MS = 30_000;

export class InboundBudget {
  /** In milliseconds of audio. */
  private audio!: TokenBucket;
  private messages!: TokenBucket;
  private readonly control: TokenBucket;
  private readonly flushes: TokenBucket;

  constructor(
    private readonly limits: InboundLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.fill(limits.audioBurstMs);
    this.control = new TokenBucket(limits.maxControlPerS * CONTROL_BURST_S, limits.maxControlPerS, now);
    this.flushes = new TokenBucket(FLUSH_BURST, limits.maxFlushesPerS, now);
  }

  /** The connection resumed a session: its client may resend everything the session did not keep, at once. */
  resumed(): void {
    this.fill(this.limits.audioBurstMs + this.limits.resumeBurstMs);
  }

  /** A message as it arrives, before it is parsed: counted, and its text (if any) charged as audio. */
  message(textBytes: number): Charge {
    if (!this.messages.take()) {
      const perS = Math.round((1000 / MIN_MESSAGE_MS) * this.limits.maxAudioRate);
      return { limit: `more than ${perS} messages a second (after ${Math.round(this.messages.capacity)} at once)` };
    }
    return textBytes > 0 ? this.spendAudio(textBytes / TEXT_BYTES_PER_MS) : { waitMs: 0 };
  }

  /** Audio of a binary message (audio sent as text was charged by its bytes). */
  audioMs(ms: number): Charge {
    return this.spendAudio(ms);
  }

  /** A message that carried no audio; the reason to close the connection when it is one too many. */
  controlMessage(): string | null {
    if (this.control.take()) return null;
    return `more than ${this.limits.maxControlPerS} messages without audio a second (MAX_CONTROL_PER_S)`;
  }

  /** An utterance-ending message: how long it must wait for its turn (0: none). */
  flush(): number {
    return this.flushes.spend(1);
  }

  private spendAudio(ms: number): Charge {
    const waitMs = this.audio.spend(ms);
    if (this.audio.debt <= MAX_AUDIO_DEBT_MS) return { waitMs };
    return {
      limit:
        `audio more than ${MAX_AUDIO_DEBT_MS / 1000} s ahead of MAX_AUDIO_RATE and its burst, sent while ` +
        'reads were paused',
    };
  }

  private fill(burstMs: number): void {
    const capacityMs = burstMs + HEADROOM_MS;
    const perS = 1000 * this.limits.maxAudioRate;
    this.audio = new TokenBucket(capacityMs, perS, this.now);
    this.messages = new TokenBucket(capacityMs / MIN_MESSAGE_MS, perS / MIN_MESSAGE_MS, this.now);
  }
}

/**
 * Test-only fault injection: ends this process's speech-detection or transcription threads as a crash would, so
 * tests can check what sessions do when one dies. Nothing a client sends reaches it; the services register here.
 */

export type ThreadKind = 'vad' | 'transcriber';

/** A service whose threads a test may crash. */
export interface CrashableThreads {
  readonly kind: ThreadKind;
  /** Ends its threads (a transcriber pool: once a transcription is running on one) and resolves once they exited. */
  crashThreads(): Promise<void>;
}

const services = new Set<CrashableThreads>();

/** Called by a service when it starts; the returned function when it closes. */
export function registerCrashable(service: CrashableThreads): () => void {
  services.add(service);
  return () => services.delete(service);
}

/** Crashes the threads of every running service of `kind`; resolves with how many services there were. */
export async function crashThreads(kind: ThreadKind): Promise<number> {
  const targets = [...services].filter((service) => service.kind === kind);
  await Promise.all(targets.map((service) => service.crashThreads()));
  return targets.length;
}

// What model the server a command streams to runs, asked of its /readyz: the CLI says when it is the synthetic
// stand-in, so nonsense transcripts surprise no one.

interface Readiness {
  model?: { file?: string; synthetic?: boolean } | null;
}

/** A note for stderr when the server at `streamUrl` runs the synthetic stand-in; undefined otherwise or unknown. */
export async function syntheticModelNote(streamUrl: string): Promise<string | undefined> {
  try {
    const url = new URL(streamUrl);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    url.pathname = '/readyz';
    url.search = '';
    const { model } = (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as Readiness;
    if (!model?.synthetic) return undefined;
    const file = model.file ?? 'unknown file';
    return `note: the server runs the synthetic stand-in model (${file}): its transcripts are nonsense`;
  } catch {
    // Not this project's server, or no answer: nothing to say.
  }
  return undefined;
}

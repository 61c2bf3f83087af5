import { parseArgs } from 'node:util';

type StringOrFlag = { type: 'string'; default?: string } | { type: 'boolean'; default?: boolean };

/**
 * The bench's own options from the command line, and everything else as flags for the server it starts
 * (e.g. --pool-size 2 --threads 1).
 */
export function benchArgs<T extends Record<string, StringOrFlag>>(
  options: T,
): { values: Record<keyof T, string | boolean>; serverFlags: string[] } {
  const { values, tokens } = parseArgs({ options, strict: false, tokens: true });
  const own = Object.keys(options);
  const serverFlags = tokens
    .filter((t) => t.kind !== 'option' || !own.includes(t.name))
    .flatMap((t) => {
      if (t.kind === 'option') return t.value === undefined ? [t.rawName] : [t.rawName, t.value];
      return t.kind === 'positional' ? [t.value] : [];
    });
  const picked: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined && own.includes(key)) picked[key] = value;
  return { values: picked as Record<keyof T, string | boolean>, serverFlags };
}

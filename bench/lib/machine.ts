import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { native } from '../../engine/index.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  whisperCpp: string;
  simd: string;
}

/** What a benchmark figure depends on, printed and saved next to it. */
export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux: os.cpus() already gave a name
  }
  const simd = native
    .systemInfo()
    .split('|')
    .map((part) => part.trim())
    .filter((part) => / = 1$/.test(part))
    .map((part) => part.replace(/ = 1$/, '').replace(/^CPU : /, ''))
    .join(' ');
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    whisperCpp: native.version(),
    simd,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; whisper.cpp ${m.whisperCpp} (${m.simd})`;
}

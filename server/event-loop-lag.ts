import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const RESOLUTION_MS = 10;

/**
 * A histogram figure (ns) as lag in ms: the histogram measures timer wake-ups, which include the sampling interval
 * itself. Rounded to 0.01 ms after the subtraction, which would otherwise show binary fractions (6.809999999999999).
 */
export const netLagMs = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);

/**
 * Event-loop delay since the server started: how long ready callbacks (audio frames, results) waited for the main
 * thread. Inference runs on workers, so this should stay near zero under any load.
 */
export class EventLoopLagMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.histogram.enable();
  }

  read(): EventLoopLag {
    return {
      p50Ms: netLagMs(this.histogram.percentile(50)),
      p99Ms: netLagMs(this.histogram.percentile(99)),
      maxMs: netLagMs(this.histogram.max),
      meanMs: netLagMs(this.histogram.mean),
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}

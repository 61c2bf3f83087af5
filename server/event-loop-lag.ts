import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const RESOLUTION_MS = 10;

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
    // The histogram measures timer wake-ups, which include the sampling interval itself. Rounded to 0.01 ms after the
    // subtraction, which would otherwise show binary fractions such as 6.809999999999999.
    const lag = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    return {
      p50Ms: lag(this.histogram.percentile(50)),
      p99Ms: lag(this.histogram.percentile(99)),
      maxMs: lag(this.histogram.max),
      meanMs: lag(this.histogram.mean),
    };
  }

  stop(): void {
    this.histogram.disable();
  }
}

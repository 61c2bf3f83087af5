import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { native } from '../engine/index.js';
import {
  SAMPLE_RATE,
  type JobClass,
  type JobEnd,
  type LoadSnapshot,
  type SchedulerObserver,
  type SchedulerStats,
} from '../engine/pipeline/index.js';
import type { SessionStats, SessionTotals } from './sessions/session-registry.js';

/** What the metrics read at scrape time rather than being told as it happens. */
export interface MetricSources {
  sessions: () => SessionStats;
  totals: () => SessionTotals;
  scheduler: () => SchedulerStats;
  load: () => LoadSnapshot;
  /** With a shared session store: whether it answers. */
  storeUp?: () => boolean;
}

type Kind = 'partial' | 'final';

const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];
/** Lengths of the speech turn so far that partial costs are reported by. */
const TURN_BUCKETS: [number, string][] = [
  [3000, '0-3s'],
  [6000, '3-6s'],
  [10_000, '6-10s'],
  [15_000, '10-15s'],
];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** A write to Redis nearby takes a fraction of a millisecond. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The server's Prometheus metrics (GET /metrics). Per-event figures (transcription runs, latencies) are recorded
 * as they happen; counts that other components already keep are read from them at scrape time, so the hot paths
 * (audio ingest) do no metrics work at all. Node's own metrics (event-loop lag, RSS, heap, CPU, GC) come from
 * prom-client's defaults.
 */
export class ServerMetrics implements SchedulerObserver {
  readonly registry = new Registry();
  private sources: MetricSources | null = null;
  private readonly runs: Counter<'kind' | 'end'>;
  private readonly refusals: Counter<'reason'>;
  private readonly unhandled: Counter;
  private readonly partialWorker: Histogram<'turn'>;
  private readonly runSeconds: Histogram<'kind'>;
  private readonly workerSeconds: Counter<'kind' | 'end'>;
  private readonly missed: Counter<'kind'>;
  private readonly waitSeconds: Histogram<'kind'>;
  private readonly latencySeconds: Record<Kind, Histogram>;
  private readonly pausedReads: Counter;
  private readonly pacedReads: Counter;
  private readonly persistSeconds: Histogram;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const read = <T>(pick: (sources: MetricSources) => T): T | undefined =>
      this.sources ? pick(this.sources) : undefined;
    new Gauge({
      name: 'stt_sessions_active',
      help: 'Sessions alive, with a socket attached or waiting to be resumed',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = read((s) => s.sessions());
        this.set({ state: 'attached' }, stats?.attached ?? 0);
        this.set({ state: 'detached' }, stats?.detached ?? 0);
      },
    });
    const total = (name: string, help: string, pick: (totals: SessionTotals) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read((s) => pick(s.totals())) ?? 0);
        },
      });
    };
    total('stt_sessions_created_total', 'Sessions started', (t) => t.created);
    total('stt_sessions_resumed_total', 'Sessions resumed on a new socket after a drop', (t) => t.resumed);
    total('stt_sessions_expired_total', 'Detached sessions whose resume window ran out', (t) => t.expired);
    total(
      'stt_sessions_taken_over_total',
      'Sessions resumed here that another instance held (shared session store)',
      (t) => t.takenOver,
    );
    total(
      'stt_sessions_handed_off_total',
      'Sessions handed to another instance: asked for by it, or at shutdown (shared session store)',
      (t) => t.handedOff,
    );
    total(
      'stt_audio_received_seconds_total',
      'Seconds of audio received from clients',
      (t) => t.audioSamples / SAMPLE_RATE,
    );
    new Gauge({
      name: 'stt_queue_depth',
      help: 'Transcriptions waiting for a worker',
      labelNames: ['kind'],
      registers,
      collect() {
        const stats = read((s) => s.scheduler());
        this.set({ kind: 'final' }, stats?.queuedFinals ?? 0);
        this.set({ kind: 'partial' }, stats?.queuedPartials ?? 0);
        this.set({ kind: 'upload' }, stats?.queuedUploads ?? 0);
      },
    });
    new Gauge({
      name: 'stt_load_ratio',
      help: 'Demand on the transcription workers over what they can do in real time (smoothed); above 1 is overload',
      registers,
      collect() {
        this.set(read((s) => s.load().load) ?? 0);
      },
    });
    new Gauge({
      name: 'stt_partial_interval_seconds',
      help: 'Audio time between partials now: PARTIAL_INTERVAL_MS, widened under load up to MAX_PARTIAL_INTERVAL_MS',
      registers,
      collect() {
        this.set((read((s) => s.load().partialIntervalMs) ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'stt_admitting_sessions',
      help: '1 while new sessions are admitted, 0 while the load refuses them (503 with Retry-After)',
      registers,
      collect() {
        this.set(read((s) => (s.load().admitting ? 1 : 0)) ?? 1);
      },
    });
    new Gauge({
      name: 'stt_transcriptions_running',
      help: 'Transcriptions running on workers (or on FORWARD_URL)',
      registers,
      collect() {
        this.set(read((s) => s.scheduler().running) ?? 0);
      },
    });
    new Gauge({
      name: 'process_malloc_bytes',
      help: 'The C heap (glibc malloc, every thread): in use, free inside its arenas, and blocks mapped on their own',
      labelNames: ['kind'],
      registers,
      collect() {
        const stats = native.mallocStats();
        if (stats.inUseBytes === undefined) return;
        this.set({ kind: 'in_use' }, stats.inUseBytes);
        this.set({ kind: 'free' }, stats.freeBytes ?? 0);
        this.set({ kind: 'mmapped' }, stats.mmappedBytes ?? 0);
      },
    });
    this.runs = new Counter({
      name: 'stt_transcriptions_total',
      help: 'Transcriptions run, by kind and how they ended (done, failed, aborted)',
      labelNames: ['kind', 'end'],
      registers,
    });
    this.runSeconds = new Histogram({
      name: 'stt_transcription_duration_seconds',
      help: 'Time a transcription that ran to the end took on its worker',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.workerSeconds = new Counter({
      name: 'stt_worker_seconds_total',
      help: 'Worker time spent on transcriptions, by kind and how they ended (aborted work counts too)',
      labelNames: ['kind', 'end'],
      registers,
    });
    this.missed = new Counter({
      name: 'stt_deadline_missed_total',
      help:
        'Transcriptions that finished after their deadline (a final: 2 s after its audio; a partial: the ' +
        'cadence after the last one), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.waitSeconds = new Histogram({
      name: 'stt_queue_wait_seconds',
      help: 'Time a transcription waited for a worker',
      labelNames: ['kind'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.refusals = new Counter({
      name: 'stt_refused_total',
      help: 'Connections and requests refused or closed by a limit, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.partialWorker = new Histogram({
      name: 'stt_partial_worker_seconds',
      help:
        'Worker time of one partial, by the length of its speech turn so far: committed-window partials cost ' +
        'the same however long the turn',
      labelNames: ['turn'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.unhandled = new Counter({
      name: 'stt_unhandled_rejections_total',
      help: 'Promise rejections nothing handled: bugs, logged with their stack; the server goes on',
      registers,
    });
    this.pausedReads = new Counter({
      name: 'stt_reads_paused_total',
      help: 'Times a socket stopped being read because its session was over twice OVERLOAD_PENDING_MS behind on finals',
      registers,
    });
    this.pacedReads = new Counter({
      name: 'stt_reads_paced_total',
      help: 'Times a connection was read more slowly because its audio ran ahead of MAX_AUDIO_RATE after its burst',
      registers,
    });
    this.persistSeconds = new Histogram({
      name: 'stt_session_store_write_seconds',
      help: 'Time one checkpoint took to write to the shared session store; each transcript waits for one',
      buckets: STORE_BUCKETS,
      registers,
    });
    const latency = (kind: Kind, help: string): Histogram =>
      new Histogram({ name: `stt_${kind}_latency_seconds`, help, buckets: LATENCY_BUCKETS, registers });
    this.latencySeconds = {
      partial: latency('partial', 'From the arrival of the newest audio a partial covers to the partial being emitted'),
      final: latency('final', 'From the arrival of the audio where a segment ended to its final being emitted'),
    };
  }

  /** A checkpoint was written to the shared session store in `ms`. */
  persisted(ms: number): void {
    this.persistSeconds.observe(ms / 1000);
  }

  /** A limit refused a connection or request, or closed a connection. */
  refused(reason: string): void {
    this.refusals.inc({ reason });
  }

  partialWork(turnMs: number, workerMs: number): void {
    const bucket = TURN_BUCKETS.find(([limitMs]) => turnMs < limitMs)?.[1] ?? '15s+';
    this.partialWorker.observe({ turn: bucket }, workerMs / 1000);
  }

  unhandledRejection(): void {
    this.unhandled.inc();
  }

  readsPaced(): void {
    this.pacedReads.inc();
  }

  readsPaused(): void {
    this.pausedReads.inc();
  }

  /** Connects the scrape-time readings once the components they read exist. */
  watch(sources: MetricSources): void {
    this.sources = sources;
    const storeUp = sources.storeUp;
    if (!storeUp) return;
    new Gauge({
      name: 'stt_session_store_up',
      help:
        '1 while the shared session store (SESSION_STORE) answers, 0 while it does not (new /stream sessions ' +
        'are refused)',
      registers: [this.registry],
      collect() {
        this.set(storeUp() ? 1 : 0);
      },
    });
  }

  started(kind: JobClass, waitedMs: number): void {
    this.waitSeconds.observe({ kind }, waitedMs / 1000);
  }

  finished(kind: JobClass, runMs: number, end: JobEnd, overdueMs: number): void {
    this.runs.inc({ kind, end });
    this.workerSeconds.inc({ kind, end }, runMs / 1000);
    if (end === 'done') this.runSeconds.observe({ kind }, runMs / 1000);
    if (overdueMs > 0) this.missed.inc({ kind });
  }

  /** A transcript went out `ms` after the audio it reports on arrived. */
  latency(isFinal: boolean, ms: number): void {
    this.latencySeconds[isFinal ? 'final' : 'partial'].observe(ms / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

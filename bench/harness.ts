/**
 * The JavaScript side of every benchmark: timing through mitata, one JSON line per result on stdout,
 * and names for the segments a benchmark makes (all start with `shmbench_`, so a leak is easy to see).
 * baseline.c and cpython.py implement the same sampling, so the four columns compare like with like.
 */
import { measure } from "mitata";
import process from "node:process";
import type { Config } from "./config.ts";

/** Where the numbers came from. */
export type Impl = "c" | "cpython" | "deno" | "bun" | "node";

/** The runtime running this file. */
export const IMPL: Impl = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** Times in nanoseconds, per `unit` (one operation, one page, one item...). */
export interface Stats {
  p50: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
  /** Samples kept (mitata drops the 2 fastest and 2 slowest when it has more than 12). */
  samples: number;
}

/**
 * One row of a results table. Rows of different implementations with the same `bench`, `op` and
 * `size` are the same work and are compared; `variant` marks a second row of one implementation
 * (`track: false`) that is compared against the same baseline.
 */
export interface Result extends Stats {
  bench: string;
  op: string;
  impl: Impl;
  variant?: string;
  size?: number;
  unit: string;
  /** Bytes processed per unit, for a throughput column. */
  bytes?: number;
  note?: string;
}

/** Prints one result as a JSON line (the orchestrator reads stdout; progress goes to stderr). */
export function emit(result: Result): void {
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** Logs progress to stderr. */
export function log(message: string): void {
  process.stderr.write(`  [${IMPL}] ${message}\n`);
}

/** Prefix of every segment a benchmark names itself. */
export const PREFIX = "shmbench_";

let counter = 0;

/** A segment name unique to this process: `shmbench_<impl>_<pid>_<tag>_<n>`. */
export function benchName(tag: string): string {
  return `${PREFIX}${IMPL}_${process.pid}_${tag}_${counter++}`;
}

/** Sampling policy of one row. */
export interface Policy {
  minSamples: number;
  minTimeMs: number;
  batch: number;
}

/** The default policy of microbenchmarks under `config`. */
export function microPolicy(config: Config): Policy {
  return { minSamples: config.min_samples, minTimeMs: config.min_time_ms, batch: config.batch };
}

/**
 * Times `fn` with mitata (warm-up, batches of calls when one call is under 65 us, a GC before) and
 * returns per-call statistics divided by `per` (e.g. items handled in one call).
 */
export async function time(fn: () => unknown, policy: Policy, per = 1): Promise<Stats> {
  const stats = await measure(fn, {
    min_samples: policy.minSamples,
    min_cpu_time: policy.minTimeMs * 1e6,
    batch_samples: policy.batch,
    // A GC after each batch would be timed too; mitata runs one before sampling.
  });
  return scaled(stats, per);
}

function scaled(
  stats: { p50: number; p25: number; p75: number; min: number; max: number; samples: number[] },
  per: number,
): Stats {
  return {
    p50: stats.p50 / per,
    p25: stats.p25 / per,
    p75: stats.p75 / per,
    min: stats.min / per,
    max: stats.max / per,
    samples: stats.samples.length,
  };
}

const clock: () => number = "Bun" in globalThis
  ? (globalThis as unknown as { Bun: { nanoseconds(): number } }).Bun.nanoseconds
  : () => performance.now() * 1e6;

/** Nanoseconds from a monotonic clock. */
export function now(): number {
  return clock();
}

/**
 * Samples an operation that needs fresh setup every time or that waits on another process: `setup`
 * and `teardown` run untimed, `body` is timed (one warm-up first). At least `minSamples` samples and
 * `minTimeMs` of timed work. Statistics as mitata's: sorted, 2 trimmed at each end above 12 samples.
 */
export async function sample<T>(
  policy: { minSamples: number; minTimeMs: number },
  setup: () => T | Promise<T>,
  body: (state: T) => unknown,
  teardown: (state: T) => unknown = () => {},
  per = 1,
): Promise<Stats> {
  const samples: number[] = [];
  let total = 0;
  for (let i = -1; samples.length < policy.minSamples || total < policy.minTimeMs * 1e6; i++) {
    const state = await setup();
    let elapsed: number;
    try {
      const t0 = now();
      await body(state);
      elapsed = now() - t0;
    } finally {
      await teardown(state);
    }
    if (i < 0) continue; // warm-up
    samples.push(elapsed);
    total += elapsed;
  }
  return statsOf(samples, per);
}

/** mitata's statistics of raw samples (nanoseconds), divided by `per`. */
export function statsOf(raw: number[], per = 1): Stats {
  let samples = raw.map((s) => s / per).sort((a, b) => a - b);
  if (samples.length > 12) samples = samples.slice(2, -2);
  const at = (q: number) => samples[(q * (samples.length - 1)) | 0];
  return {
    p50: at(0.5),
    p25: at(0.25),
    p75: at(0.75),
    min: samples[0],
    max: samples[samples.length - 1],
    samples: samples.length,
  };
}

/** A failed check inside a benchmark: the benchmark fails instead of timing broken work. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`benchmark check failed: ${message}`);
}

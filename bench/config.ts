/**
 * Every size and sampling policy of the benchmarks, in one table per mode. The orchestrator hands the
 * chosen table to every implementation (Deno, Bun, CPython, C) as `key=value` arguments, so all four
 * do exactly the same work.
 */

/** One benchmark run's parameters. Times are in milliseconds, sizes in bytes. */
export interface Config {
  /** 1 in `--quick` mode: every benchmark runs once, briefly, to prove it works. */
  quick: number;
  /** The least time spent sampling one row (mitata's `min_cpu_time`). */
  min_time_ms: number;
  /** The least number of samples of one row (mitata's `min_samples`). */
  min_samples: number;
  /** Calls per sample when one call takes under 65 us (mitata's `batch_samples`). */
  batch: number;
  /** The size of the segment that is created, attached and closed. */
  segment_bytes: number;
  /** The size read and written sequentially. */
  rw_bytes: number;
  /** Samples of each sequential read or write (each sample is one pass over `rw_bytes`). */
  rw_samples: number;
  /** The size of the fresh segment whose pages are first touched. */
  touch_bytes: number;
  /** Array sizes handed to a child and back, comma separated. */
  sizes: string;
  /** The least number of samples of one handoff row. */
  handoff_samples: number;
  /** The least time spent sampling one handoff row. */
  handoff_time_ms: number;
  /** A handoff row stops after 3 samples once its samples took this long (large copies are slow). */
  handoff_cap_ms: number;
  /** Samples of starting a child process or a Worker. */
  startup_samples: number;
  /** Items in the ShareableList. */
  list_items: number;
}

const MiB = 1 << 20;
const GiB = 1 << 30;

/** Modes: `full` writes bench/RESULTS.md; `quick` only checks that every benchmark runs. */
export const CONFIGS: Record<"full" | "quick", Config> = {
  full: {
    quick: 0,
    min_time_ms: 642,
    min_samples: 12,
    batch: 1024,
    segment_bytes: 4096,
    rw_bytes: GiB,
    rw_samples: 7,
    touch_bytes: 64 * MiB,
    sizes: [MiB, 16 * MiB, 256 * MiB, GiB].join(","),
    handoff_samples: 5,
    handoff_time_ms: 300,
    handoff_cap_ms: 4000,
    startup_samples: 7,
    list_items: 1000,
  },
  quick: {
    quick: 1,
    min_time_ms: 10,
    min_samples: 3,
    batch: 16,
    segment_bytes: 4096,
    rw_bytes: 8 * MiB,
    rw_samples: 3,
    touch_bytes: 4 * MiB,
    sizes: [MiB, 4 * MiB].join(","),
    handoff_samples: 3,
    handoff_time_ms: 0,
    handoff_cap_ms: 1000,
    startup_samples: 2,
    list_items: 1000,
  },
};

/** The `key=value` command-line form every implementation reads. */
export function configArgs(config: Config): string[] {
  return Object.entries(config).map(([key, value]) => `${key}=${value}`);
}

/** Reads `key=value` arguments back into a Config (unknown keys are an error: the tables must agree). */
export function parseConfigArgs(args: readonly string[]): Config {
  const config: Record<string, number | string> = { ...CONFIGS.full };
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (!(key in config) || value === undefined) throw new Error(`unknown benchmark argument '${arg}'`);
    config[key] = typeof config[key] === "number" ? Number(value) : value;
  }
  return config as unknown as Config;
}

/** The handoff sizes as numbers. */
export function handoffSizes(config: Config): number[] {
  return config.sizes.split(",").map(Number);
}

/**
 * bench/RESULTS.md from the collected results: the machine, headline ratios, the targets of issue 6
 * with a verdict each, then one section per benchmark. Every label and target is a row of a table
 * below; the functions only lay them out.
 */
import type { Config } from "./config.ts";
import type { Impl, Result } from "./harness.ts";

export interface Machine {
  cpu: string;
  cores: number;
  virtualized: string;
  memory: string;
  kernel: string;
  os: string;
  libc: string;
  deno: string;
  bun: string;
  node: string;
  python: string;
  cc: string;
  mitata: string;
  commit: string;
}

export interface Failure {
  bench: string;
  impl: Impl | string;
  message: string;
}

export interface RunInfo {
  mode: "full" | "quick";
  started: string;
  seconds: number;
  /** Other processes' average CPU use over the whole run, in cores. */
  otherCores: number;
  stealSeconds: number;
  contention: { bench: string; impl: Impl; seconds: number; otherCores: number }[];
  config: Config;
  /**
   * Rows run again in turn after the benchmarks (bench/main.ts roundsInTurn): per row (`bench:op`), each
   * round's p50 per implementation. A saved run from before the 64-byte row joined holds the one-CPU
   * ping-pong's rounds alone, as an array (read by `inTurnRounds`).
   */
  inTurn?: InTurn | Partial<Record<Impl, number>>[];
}

/** Each row run in turn: its rounds, each round's p50 per implementation. */
export type InTurn = Record<string, Partial<Record<Impl, number>>[]>;

/** How a row run in turn is keyed in `InTurn` (bench/main.ts roundsInTurn writes, this file reads). */
export function inTurnKey(bench: string, op: string): string {
  return `${bench}:${op}`;
}

/** The rows run in turn (bench/main.ts IN_TURN_ROWS) that the report reads. */
const IN_TURN_KEYS = {
  pingPong: inTurnKey("sync", "pingpong/one-cpu"),
  oneWay64: inTurnKey("channel", "oneway64"),
} as const;

/** "median of N rounds in turn", of `inTurnOf`'s answer. */
function medianOfRounds({ rounds }: { rounds: number }): string {
  return `median of ${rounds} round${rounds === 1 ? "" : "s"} in turn`;
}

export interface ReportInput {
  results: Result[];
  failures: Failure[];
  skipped: { bench: string; impl: Impl; reason: string }[];
  machine: Machine;
  info: RunInfo;
}

const IMPLS: Impl[] = ["c", "cpython", "deno", "bun", "node"];
const RUNTIMES: Impl[] = ["deno", "bun", "node"];
const IMPL_NAMES: Record<Impl, string> = { c: "C", cpython: "CPython", deno: "Deno", bun: "Bun", node: "Node" };

/** What each operation is, by benchmark and op. */
const OPERATIONS: Record<string, Record<string, string>> = {
  lifecycle: {
    create: "create 4 KiB + write 1 byte + close + unlink",
    attach: "attach to an existing 4 KiB segment + close",
  },
  memory: {
    "fill/shm": "fill (memset) — view of the mapping",
    "fill/private": "fill (memset) — ordinary memory",
    "write/shm": "write loop, int32 — view of the mapping",
    "write/private": "write loop, int32 — ordinary memory",
    "read/shm": "read loop (sum), int32 — view of the mapping",
    "read/private": "read loop (sum), int32 — ordinary memory",
    "touch/shm": "new segment + first write to each page, per page",
    "touch/private": "new ArrayBuffer / anonymous memory + first write to each page, per page",
  },
  handoff: {
    "shm-ends": "shared memory: child attaches, +1 on first and last byte, closes",
    "shm-every8": "shared memory: child attaches, +1 on every 8th byte, closes",
    "kept-every8": "shared memory, child stays attached: +1 on every 8th byte",
    "pipe-every8": "copy down a pipe and back: +1 on every 8th byte",
    "postMessage-every8": "copy to a Worker by postMessage and back: +1 on every 8th byte",
    "transfer-every8": "move to a Worker by postMessage with transfer and back: +1 on every 8th byte",
  },
  list: {
    "get/int": "get an int, per item",
    "set/int": "set an int, per item",
    "get/str": "get a short str, per item",
    "set/str": "set a short str, per item",
  },
  ffi: {
    getpid: "getpid() — a real system call",
    abs: "abs() — no system call: the FFI's own cost",
  },
  sync: {
    lock: "lock + unlock, uncontended (C: robust process-shared pthread mutex; CPython: multiprocessing.Lock)",
    "pingpong/one-cpu": "round trip between two processes, both on one CPU",
    "pingpong/two-cpus": "round trip between two processes, one on each CPU",
    "pingpong/free": "round trip between two processes, placed by the kernel",
  },
  channel: {
    oneway64:
      "64-byte messages one way between two processes, per message (pinned one on each CPU, but `free` and `one-cpu`)",
    oneway1M: "1 MiB messages one way between two processes, one on each CPU (pinned), per message",
    "roundtrip/one-cpu": "request and reply over two channels between two processes, both on one CPU",
    "roundtrip/two-cpus": "request and reply over two channels between two processes, one on each CPU",
    "roundtrip/free": "request and reply over two channels between two processes, placed by the kernel",
    json: "a small JSON record one way between two processes (postMessage: to a Worker)",
  },
  startup: {
    process: "start a child process and wait until it answers",
    worker: "start a Worker and wait until it answers",
  },
};

/** How each implementation does the work, under each section. */
const SECTION_NOTES: Record<string, string> = {
  lifecycle: [
    "C makes the library's system calls in its order (shm_open, ftruncate, mmap, close; the write; munmap,",
    "shm_unlink; attach: shm_open, fstat, mmap, close; munmap). CPython runs",
    "`SharedMemory(create=True, size=4096)`, `buf[0] = 1`, `close()`, `unlink()`, with its resource tracker",
    "as shipped (3.11 also registers attaches). Deno, Bun and Node run `new SharedMemory({ create: true, size: 4096 })`",
    "(automatic `psm_` name, `track` on), `shm.buf[0] = 1`, `close()`, `unlink()`; the `track: false` rows",
    "skip the exit cleanup and the crash watcher; the `raw FFI` rows make C's system calls through the library's",
    "libc binding with no class at all: the difference between `raw FFI` and C is the runtime's, the",
    "difference between the library's rows and `raw FFI` is the library's. The C row `another thread",
    "running` is C with a second thread spinning on the other core, as a runtime's JIT and GC threads may be.",
  ].join("\n"),
  memory: [
    "One pass over the whole size per sample, every page already present. fill: `Uint8Array.fill` /",
    "`memset` / `ndarray.fill`; write loop: `a[i] = i + k` over an Int32Array; read loop: sum of an",
    "Int32Array (CPython: `ndarray.sum(dtype=int32)`). C's loops are compiled with -O3 (vectorised), so the",
    "C rows are the memory system's limit, not a like-for-like JIT comparison. First touch: a fresh",
    "segment (or fresh memory) per sample, creating it is included, its release is not; numpy asks for",
    "transparent huge pages for large arrays (`madvise`), so its ordinary memory is mapped 2 MiB per fault,",
    "while the shared memory segments (tmpfs, huge pages off here) and the runtimes' ArrayBuffers take 4 KiB.",
  ].join("\n"),
  handoff: [
    "The receiver is started once and serves every sample, so start-up is not counted (it has its own",
    "table). Deno, Bun, Node and C signal over two blocking pipes (FIFOs in the runtimes, as none hands out",
    "a child's stdio descriptors for blocking use; the runtimes' async stdio streams added 0.2-0.5 ms per",
    "round trip and were 5-15x slower for bulk copies when this benchmark was written). The pipe method",
    "copies with the same blocking pipes, into a buffer the child reuses. CPython is the seed example:",
    "a `multiprocessing.Process` child that attaches with `SharedMemory(name=...)`, wraps it in a numpy",
    "array, changes it and closes, told over a `multiprocessing.Pipe`; its pipe copies use raw `os.pipe`",
    "file objects (`readinto`, no extra copy). `postMessage` and `transfer` are the JS runtimes only (a Worker",
    "is a thread, not a process; Node's is a `node:worker_threads` Worker).",
  ].join("\n"),
  list: [
    "One sample sweeps the whole list (`get(i)` / `set(i, v)` for every index); times are per item.",
    "CPython: `sl[i]` and `sl[i] = v` on `multiprocessing.shared_memory.ShareableList`.",
  ].join("\n"),
  ffi: [
    "Straight through each runtime's FFI (`Deno.dlopen`, `bun:ffi` `dlopen`, `node:ffi` `dlopen`), not through the",
    "library; CPython through ctypes; C through a volatile function pointer (so `abs` is a real call). A",
    "`node:ffi` call costs more than Deno's and Bun's, and its 64-bit arguments are bigints, converted at each",
    "call: under 1 µs over the 7-9 calls of a create or attach, small beside their system calls here.",
  ].join("\n"),
  sync: [
    "Deno and Bun: `Mutex.lock()` + `unlock()`; ping-pong through one futex word (`futex.wait` / `notify`,",
    "bench/sync_child.ts, each side a process started under `taskset`); `async`: `futex.waitAsync`, the",
    "event loop free (Deno's pool thread, Bun's wait Worker); `spin`: the library's adaptive spin before",
    "sleeping, which a process pinned to one CPU skips. C: the same robust pthread mutex, and the same",
    "futex protocol from `fork`ed processes pinned with `sched_setaffinity`; `spin`: 2000 x PAUSE first.",
    "CPython: `multiprocessing.Lock` and a `multiprocessing.Pipe` round trip (the rows without a variant),",
    "a ping-pong over two `multiprocessing.Event`s, and shm_interop's Mutex and futex calls (ctypes).",
  ].join("\n"),
  channel: [
    "bench/channel.ts: a child process sends, this one receives and times batches. One way, the receiver is",
    "pinned to CPU 0 and the sender to CPU 1 (`taskset`; C: `sched_setaffinity`), but in the variants `free`",
    "(placed by the kernel) and `one-cpu` (both on CPU 0), which are of reused buffers. Deno, Bun and Node: a",
    "Channel of one sender and one receiver (the lock-free path: no FFI call per message, so Node's dearer",
    "node:ffi calls do not count there and its targets are those of Deno and Bun), `trySend` of one reused",
    "buffer and `tryReceiveInto` one reused buffer; `batch`: the sender's `trySendMany` of 16 reused buffers",
    "(one store of the tail per batch); `plain`: `send(new Uint8Array(64))` / `receive()`; `many`: the same as",
    "the default through a channel of many senders and receivers (a Mutex per side); `pipe`: 64-byte `write(2)`s",
    "to the child's stdout, read as a stream (a pipe in Deno; Bun's and Node's child_process make it a Unix socket pair). A waiter spins",
    "before it sleeps only while the other side's published CPU is not its own. 1 MiB: reserve / copy in /",
    "commit, read as a view and released. JSON:",
    "`send(value)` / `receive()`; `postMessage` to a Worker and back, halved; `pipe`: JSON lines. Round trips:",
    "a 64-byte request and its reply, between two children placed as the sync ping-pong is (`taskset`). C: the",
    "same ring (records, cached indices, spin then futex sleep; a spin only while the other side's published",
    "CPU is another, as the library) between `fork`ed processes. CPython: `multiprocessing.Queue` (the rows without a variant)",
    "and `multiprocessing.Pipe` (`Pipe`): `send_bytes` of 64 bytes, `send` of the JSON record.",
  ].join("\n"),
  startup: [
    "C: `posix_spawn` of a tiny program; CPython: `python3` importing numpy and shared_memory; Deno, Bun",
    "and Node: the handoff child (loads the library). Worker: `new Worker(...)` until its first message.",
  ].join("\n"),
};

// ---- formatting ----

/** A time in ns with 3 significant digits and a unit that fits. */
export function formatTime(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return "—";
  const [value, unit] = ns < 1e3
    ? [ns, "ns"]
    : ns < 1e6
    ? [ns / 1e3, "µs"]
    : ns < 1e9
    ? [ns / 1e6, "ms"]
    : [ns / 1e9, "s"];
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${unit}`;
}

function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return "—";
  if (ratio >= 100) return `${ratio.toFixed(0)}×`;
  if (ratio >= 10) return `${ratio.toFixed(1)}×`;
  if (ratio >= 0.1) return `${ratio.toFixed(2)}×`;
  return `${ratio.toPrecision(2)}×`;
}

/** CPython's time over ours, in words: "3.1× faster" or "1.4× slower". */
function speedVersus(ratio: number | undefined, who: string): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return `— vs ${who}`;
  return ratio <= 1 ? `${formatRatio(1 / ratio)} faster than ${who}` : `${formatRatio(ratio)} slower than ${who}`;
}

function formatSize(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 2 ** 10 && bytes % 2 ** 10 === 0) return `${bytes / 2 ** 10} KiB`;
  return `${bytes} B`;
}

function table(header: string[], rows: string[][], align: "right" | "left" = "right"): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule = header.map((_, i) => (i === 0 || align === "left" ? "---" : "---:"));
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

function implName(result: Pick<Result, "impl" | "variant">): string {
  return IMPL_NAMES[result.impl] + (result.variant ? ` (${result.variant})` : "");
}

// ---- lookups ----

class Results {
  // A plain field, not a parameter property: Node's type stripping cannot run those.
  readonly all: Result[];

  constructor(all: Result[]) {
    this.all = all;
  }

  of(bench: string): Result[] {
    return this.all.filter((r) => r.bench === bench);
  }

  find(bench: string, op: string, impl: Impl, options: { variant?: string; size?: number } = {}): Result | undefined {
    return this.all.find((r) =>
      r.bench === bench && r.op === op && r.impl === impl && (r.variant ?? undefined) === options.variant &&
      (options.size === undefined || r.size === options.size)
    );
  }

  median(bench: string, op: string, impl: Impl, options: { variant?: string; size?: number } = {}): number | undefined {
    return this.find(bench, op, impl, options)?.p50;
  }

  /** This row's median over the same work's median in `impl` (no variant). */
  ratio(row: Result, impl: Impl): number | undefined {
    if (row.impl === impl && !row.variant) return undefined;
    const base = this.median(row.bench, row.op, impl, { size: row.size });
    return base === undefined ? undefined : row.p50 / base;
  }
}

// ---- sections ----

function detailTable(
  results: Results,
  rows: Result[],
  extra?: { header: string; cell: (r: Result) => string },
): string {
  const header = ["operation", "implementation", "median", "p25–p75", "min–max", "samples", "÷ C", "÷ CPython"];
  if (extra) header.push(extra.header);
  return table(
    header,
    rows.map((r) => {
      const op = (OPERATIONS[r.bench]?.[r.op] ?? r.op) + (r.size ? `, ${formatSize(r.size)}` : "");
      const cells = [
        op,
        implName(r),
        `**${formatTime(r.p50)}**`,
        `${formatTime(r.p25)} – ${formatTime(r.p75)}`,
        `${formatTime(r.min)} – ${formatTime(r.max)}`,
        String(r.samples),
        formatRatio(results.ratio(r, "c")),
        formatRatio(results.ratio(r, "cpython")),
      ];
      if (extra) cells.push(extra.cell(r));
      return cells;
    }),
  );
}

/** Rows in a stable order: by operation as listed, then size, then implementation, variants last. */
function ordered(rows: Result[]): Result[] {
  const opOrder = (r: Result) => Object.keys(OPERATIONS[r.bench] ?? {}).indexOf(r.op);
  const implOrder = (r: Result) => IMPLS.indexOf(r.impl) * 10 + (r.variant ? 1 + (r.variant === "raw FFI" ? 1 : 0) : 0);
  return [...rows].sort((a, b) =>
    opOrder(a) - opOrder(b) || (a.size ?? 0) - (b.size ?? 0) || implOrder(a) - implOrder(b)
  );
}

function contentionLine(info: RunInfo, bench: string): string {
  const runs = info.contention.filter((c) => c.bench === bench);
  if (runs.length === 0) return "";
  const parts = runs.map((c) => `${IMPL_NAMES[c.impl]} ${c.otherCores.toFixed(2)} (${c.seconds.toFixed(0)} s)`);
  return `Other processes' CPU use while this ran, in cores of ${2}: ${parts.join(", ")}.`;
}

function throughput(r: Result): string {
  if (!r.bytes) return "";
  return `${(r.bytes / r.p50).toFixed(2)} GB/s`;
}

function memorySection(results: Results, info: RunInfo): string {
  const rows = ordered(results.of("memory"));
  const ratios = RUNTIMES.concat(["c", "cpython"]).map((impl) => [
    IMPL_NAMES[impl],
    ...["fill", "write", "read", "touch"].map((op) => {
      const shm = results.median("memory", `${op}/shm`, impl);
      const priv = results.median("memory", `${op}/private`, impl);
      return shm && priv ? formatRatio(shm / priv) : "—";
    }),
  ]);
  return [
    `## 2. Sequential write and read of ${formatSize(info.config.rw_bytes)}, and first touch`,
    "",
    SECTION_NOTES.memory,
    "",
    "Time through the view of the mapping ÷ time through ordinary memory, same runtime (target: at most 1.10×):",
    "",
    table(["implementation", "fill", "write loop", "read loop", "first touch / page"], ratios),
    "",
    detailTable(results, rows, { header: "throughput", cell: throughput }),
    "",
    contentionLine(info, "memory"),
  ].join("\n");
}

function handoffSection(results: Results, info: RunInfo): string {
  const rows = results.of("handoff");
  const sizes = [...new Set(rows.map((r) => r.size!))].sort((a, b) => a - b);
  const matrix: string[][] = [];
  for (const op of Object.keys(OPERATIONS.handoff)) {
    for (const impl of IMPLS) {
      const cells = sizes.map((size) => results.median("handoff", op, impl, { size }));
      if (cells.every((c) => c === undefined)) continue;
      const first = cells[0];
      const last = cells[cells.length - 1];
      matrix.push([
        `${op}`,
        IMPL_NAMES[impl],
        ...cells.map((c) => formatTime(c)),
        first && last ? formatRatio(last / first) : "—",
      ]);
    }
  }
  return [
    "## 3. Handing an N-byte array to a running child process and back, changed in place",
    "",
    SECTION_NOTES.handoff,
    "",
    "Methods: " + Object.entries(OPERATIONS.handoff).map(([op, what]) => `\`${op}\`: ${what}`).join("; ") + ".",
    "",
    "Median time per round trip:",
    "",
    table([
      "method",
      "implementation",
      ...sizes.map(formatSize),
      `${formatSize(sizes.at(-1) ?? 0)} ÷ ${formatSize(sizes[0] ?? 0)}`,
    ], matrix),
    "",
    "<details><summary>Every row with its spread and ratios</summary>",
    "",
    detailTable(results, ordered(rows)),
    "",
    "</details>",
    "",
    contentionLine(info, "handoff"),
  ].join("\n");
}

function simpleSection(results: Results, info: RunInfo, bench: string, title: string, extraBench?: string): string {
  const rows = ordered(results.of(bench));
  const parts = [
    `## ${title}`,
    "",
    SECTION_NOTES[bench],
    "",
    rows.length ? detailTable(results, rows) : "(no results)",
  ];
  if (extraBench) parts.push("", contentionLine(info, extraBench));
  else parts.push("", contentionLine(info, bench));
  return parts.join("\n");
}

/** The rounds in turn of the row `key` (IN_TURN_KEYS), in either saved form. */
function inTurnRounds(info: RunInfo, key: string): Partial<Record<Impl, number>>[] {
  const saved = info.inTurn;
  if (Array.isArray(saved)) return key === IN_TURN_KEYS.pingPong ? saved : [];
  return saved?.[key] ?? [];
}

/** The middle value, or the mean of the two middle ones (an even count: a round that failed). */
function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * `impl`'s p50 in the rounds in turn of the row `key`, each ÷ `base`'s of its round (C's by default),
 * and the medians of both (only rounds where both have one).
 */
function inTurnOf(
  info: RunInfo,
  key: string,
  impl: Impl,
  base: Impl = "c",
): { median: number; medianRatio: number; medianBase: number; all: number[]; rounds: number } | undefined {
  const paired = inTurnRounds(info, key).flatMap((round) => {
    const own = round[impl];
    const other = round[base];
    return own !== undefined && other !== undefined && other > 0 ? [{ own, other }] : [];
  });
  if (paired.length === 0) return undefined;
  const all = paired.map(({ own, other }) => own / other);
  return {
    median: medianOf(paired.map(({ own }) => own)),
    medianRatio: medianOf(all),
    medianBase: medianOf(paired.map(({ other }) => other)),
    all,
    rounds: all.length,
  };
}

/** The rounds in turn of the row `key` as a table: each round's p50 by implementation, and its ratio to C's. */
function inTurnTable(info: RunInfo, key: string, what: string, readFrom: string): string {
  const rounds = inTurnRounds(info, key);
  if (rounds.length === 0) return "";
  const impls = IMPLS.filter((impl) => rounds.some((round) => round[impl] !== undefined));
  const cell = (round: Partial<Record<Impl, number>>, impl: Impl) => {
    const ns = round[impl];
    if (ns === undefined) return "—";
    return impl === "c" || round.c === undefined ? formatTime(ns) : `${formatTime(ns)} (${formatRatio(ns / round.c)})`;
  };
  return [
    "",
    `${what} again, each implementation's row in turn, after all the benchmarks (\`bench/main.ts\`,`,
    "`roundsInTurn`): rows measured minutes apart on this VM compare the machine's moments as much as the runtimes,",
    `so ${readFrom} is read from these rounds. p50, and ÷ C of the same round:`,
    "",
    table(
      ["round", ...impls.map((impl) => IMPL_NAMES[impl])],
      rounds.map((round, i) => [String(i + 1), ...impls.map((impl) => cell(round, impl))]),
    ),
  ].join("\n");
}

// ---- targets and headlines ----

interface Verdict {
  target: string;
  cells: string[];
}

/** "met" or "missed", the measured value in words, and the target. */
function verdict(value: number | undefined, limit: number, describe: (v: number) => string, target: string): string {
  if (value === undefined) return "not measured";
  return `${value <= limit ? "**met**" : "**missed**"}: ${describe(value)} (target: ${target})`;
}

function targets(results: Results, info: RunInfo): Verdict[] {
  const out: Verdict[] = [];
  for (const op of ["create", "attach"]) {
    for (const variant of [undefined, "track: false"]) {
      if (op === "attach" && variant) continue;
      const label = `${OPERATIONS.lifecycle[op]}${variant ? ` (${variant})` : ""}`;
      out.push({
        target: `${label}: within 1.5× of C`,
        cells: RUNTIMES.map((impl) => {
          const row = results.find("lifecycle", op, impl, { variant });
          return verdict(row && results.ratio(row, "c"), 1.5, (v) => `${formatRatio(v)} C's time`, "≤ 1.5×");
        }),
      });
      out.push({
        target: `${label}: at least 2× faster than CPython`,
        cells: RUNTIMES.map((impl) => {
          const row = results.find("lifecycle", op, impl, { variant });
          return verdict(row && results.ratio(row, "cpython"), 0.5, (v) => speedVersus(v, "CPython"), "≥ 2× faster");
        }),
      });
    }
  }
  for (const op of ["fill", "write", "read"]) {
    out.push({
      target: `${op} through the mapping within 10% of an ArrayBuffer`,
      cells: RUNTIMES.map((impl) => {
        const shm = results.median("memory", `${op}/shm`, impl);
        const priv = results.median("memory", `${op}/private`, impl);
        return verdict(
          shm && priv ? shm / priv : undefined,
          1.1,
          (v) => `${formatRatio(v)} the ArrayBuffer's time`,
          "≤ 1.10×",
        );
      }),
    });
  }
  const sizes = [...new Set(results.of("handoff").map((r) => r.size!))].sort((a, b) => a - b);
  if (sizes.length > 1) {
    const [small, big] = [formatSize(sizes[0]), formatSize(sizes.at(-1)!)];
    const growth = (impl: Impl, op = "shm-ends") => {
      const first = results.median("handoff", op, impl, { size: sizes[0] });
      const last = results.median("handoff", op, impl, { size: sizes.at(-1) });
      return first && last ? last / first : undefined;
    };
    const c = growth("c");
    const limit = Math.max(1.5, 1.5 * (c ?? 1));
    out.push({
      target: `shared memory handoff stays flat from ${small} to ${big} (\`shm-ends\`: at most 1.5× growth, ` +
        `or 1.5× C's own growth, which is the kernel's page tables: ${formatRatio(c)})`,
      cells: RUNTIMES.map((impl) => {
        const pipe = growth(impl, "pipe-every8");
        return verdict(
          growth(impl),
          limit,
          (v) =>
            `${big} takes ${formatRatio(v)} the time of ${small}` +
            (pipe ? ` (a pipe copy: ${formatRatio(pipe)})` : ""),
          `≤ ${formatRatio(limit)}`,
        );
      }),
    });
  }
  // issue 14: waits. The issue names Deno's and Bun's round-trip bounds; Node is held to Deno's (chosen).
  const WITHIN_C: Record<Impl, number> = { deno: 1.4, bun: 1.2, node: 1.4, c: 1, cpython: 1 };
  out.push({
    target: "Mutex lock + unlock, uncontended: at most 50 ns",
    cells: RUNTIMES.map((impl) => verdict(results.median("sync", "lock", impl), 50, formatTime, "≤ 50 ns")),
  });
  out.push({
    target: "futex ping-pong round trip, both on one CPU: within 1.4× C (Deno, Node), 1.2× (Bun)",
    cells: RUNTIMES.map((impl) => {
      const row = results.find("sync", "pingpong/one-cpu", impl);
      const sectionRatio = row && results.ratio(row, "c");
      const inTurn = inTurnOf(info, IN_TURN_KEYS.pingPong, impl);
      // the rounds in turn when there are any (they compare the runtimes, not the moments: bench/main.ts)
      return verdict(
        inTurn?.medianRatio ?? sectionRatio,
        WITHIN_C[impl],
        (v) =>
          inTurn
            ? `${formatRatio(v)} C's time, the ${medianOfRounds(inTurn)} (${
              inTurn.all.map(formatRatio).join(", ")
            }; section 6's rows: ${sectionRatio === undefined ? "—" : formatRatio(sectionRatio)})`
            : `${formatRatio(v)} C's time`,
        `≤ ${WITHIN_C[impl]}×`,
      );
    }),
  });
  out.push({
    target: "futex ping-pong round trip with waitAsync on both sides, one CPU: within 25 µs",
    cells: RUNTIMES.map((impl) =>
      verdict(
        results.median("sync", "pingpong/one-cpu", impl, { variant: "async" }),
        25_000,
        formatTime,
        "≤ 25 µs",
      )
    ),
  });
  out.push({
    target: "futex ping-pong round trip, one CPU: at least 3× faster than Python's multiprocessing.Pipe",
    cells: RUNTIMES.map((impl) => {
      const row = results.find("sync", "pingpong/one-cpu", impl);
      const sectionRatio = row && results.ratio(row, "cpython");
      // the rounds in turn when there are any, as the target above (CPython's Pipe runs in them too)
      const inTurn = inTurnOf(info, IN_TURN_KEYS.pingPong, impl, "cpython");
      return verdict(
        inTurn?.medianRatio ?? sectionRatio,
        1 / 3,
        (v) =>
          inTurn
            ? `${speedVersus(v, "Pipe")}, the ${medianOfRounds(inTurn)} (${
              inTurn.all.map((r) => r <= 1 ? `${formatRatio(1 / r)} faster` : `${formatRatio(r)} slower`).join(", ")
            }; section 6's rows: ${sectionRatio === undefined ? "—" : speedVersus(sectionRatio, "Pipe")})`
            : speedVersus(v, "Pipe"),
        "≥ 3× faster",
      );
    }),
  });
  const perSecond = (ns: number) => `${(1e3 / ns).toFixed(1)} M messages/s`;
  // The ring's own time is read from the rounds in turn when there are any: the host's placement of
  // the two vCPUs moves this row 3-fold for C too, for tens of seconds at a time (bench/main.ts
  // roundsInTurn). A pipe and Python's Queue, which the kernel and the interpreter dominate, are read
  // from their section's rows.
  const ringOf = (impl: Impl) => {
    const section = results.median("channel", "oneway64", impl);
    const inTurn = inTurnOf(info, IN_TURN_KEYS.oneWay64, impl);
    const where = inTurn ? `the ring's ${medianOfRounds(inTurn)}` : "section 7's ring";
    return { ns: inTurn?.median ?? section, section, inTurn, where };
  };
  out.push({
    target: "64-byte messages one way (reused buffers): at least 15 million per second",
    cells: RUNTIMES.map((impl) => {
      const { ns, section, inTurn, where } = ringOf(impl);
      return verdict(
        ns,
        1e9 / 15e6,
        (v) =>
          inTurn
            ? `${perSecond(v)}, ${where} (C beside it: ${perSecond(inTurn.medianBase)}; ÷ C ` +
              `${inTurn.all.map(formatRatio).join(", ")}; section 7's row: ${
                section === undefined ? "—" : perSecond(section)
              })`
            : perSecond(v),
        "≥ 15 M/s",
      );
    }),
  });
  out.push({
    target: "64-byte messages one way: at least 10× a pipe in the same runtime",
    cells: RUNTIMES.map((impl) => {
      const { ns, where } = ringOf(impl);
      const pipe = results.median("channel", "oneway64", impl, { variant: "pipe" });
      return verdict(
        ns && pipe ? ns / pipe : undefined,
        0.1,
        (v) => `${speedVersus(v, "the pipe")} (${where})`,
        "≥ 10× faster",
      );
    }),
  });
  out.push({
    target: "64-byte messages one way: at least 50× Python's multiprocessing.Queue",
    cells: RUNTIMES.map((impl) => {
      const { ns, where } = ringOf(impl);
      const queue = results.median("channel", "oneway64", "cpython");
      return verdict(
        ns && queue ? ns / queue : undefined,
        0.02,
        (v) => `${speedVersus(v, "Queue")} (${where})`,
        "≥ 50× faster",
      );
    }),
  });
  out.push({
    target: "1 MiB messages one way: at least 10 GB/s",
    cells: RUNTIMES.map((impl) =>
      verdict(
        results.median("channel", "oneway1M", impl),
        (1 << 20) / 10,
        (v) => `${((1 << 20) / v).toFixed(1)} GB/s`,
        "≥ 10 GB/s",
      )
    ),
  });
  for (const placement of ["one-cpu", "two-cpus", "free"]) {
    out.push({
      target: `a round trip over two channels (${placement}): within 1.3× of the futex ping-pong`,
      cells: RUNTIMES.map((impl) => {
        const channel = results.median("channel", `roundtrip/${placement}`, impl);
        const futex = results.median("sync", `pingpong/${placement}`, impl);
        return verdict(
          channel && futex ? channel / futex : undefined,
          1.3,
          (v) => `${formatRatio(v)} the ping-pong's time`,
          "≤ 1.3×",
        );
      }),
    });
  }
  for (const op of Object.keys(OPERATIONS.list)) {
    out.push({
      target: `ShareableList ${op}: at least 10× faster than CPython`,
      cells: RUNTIMES.map((impl) => {
        const row = results.find("list", op, impl);
        return verdict(row && results.ratio(row, "cpython"), 0.1, (v) => speedVersus(v, "CPython"), "≥ 10× faster");
      }),
    });
  }
  return out;
}

function headlines(results: Results): string[] {
  const lines: string[] = [];
  const speed = (impl: Impl, bench: string, op: string, options: { size?: number; variant?: string } = {}) => {
    const row = results.find(bench, op, impl, options);
    if (!row) return undefined;
    const c = results.ratio(row, "c");
    const py = results.ratio(row, "cpython");
    return `${IMPL_NAMES[impl]} ${formatTime(row.p50)} (${formatRatio(c)} C's time, ${speedVersus(py, "CPython")})`;
  };
  const create = RUNTIMES.map((impl) => speed(impl, "lifecycle", "create")).filter(Boolean);
  const createUntracked = RUNTIMES.map((impl) => speed(impl, "lifecycle", "create", { variant: "track: false" }))
    .filter(Boolean);
  if (create.length) {
    lines.push(
      `- Create 4 KiB + write + close + unlink: ${create.join("; ")}; with \`track: false\`: ${
        createUntracked.join("; ")
      }; C ${formatTime(results.median("lifecycle", "create", "c"))}.`,
    );
  }
  const attach = RUNTIMES.map((impl) => speed(impl, "lifecycle", "attach")).filter(Boolean);
  if (attach.length) lines.push(`- Attach + close: ${attach.join("; ")}.`);

  const sizes = [...new Set(results.of("handoff").map((r) => r.size!))].sort((a, b) => a - b);
  const big = sizes.at(-1);
  if (big) {
    for (const impl of RUNTIMES) {
      const shm = results.median("handoff", "shm-ends", impl, { size: big });
      const small = results.median("handoff", "shm-ends", impl, { size: sizes[0] });
      const pipe = results.median("handoff", "pipe-every8", impl, { size: big });
      const post = results.median("handoff", "postMessage-every8", impl, { size: big });
      if (!shm) continue;
      lines.push(
        `- Handing ${formatSize(big)} to a running child and back (${IMPL_NAMES[impl]}): ${
          formatTime(shm)
        } through shared memory` +
          (small ? ` (${formatTime(small)} at ${formatSize(sizes[0])})` : "") +
          (pipe ? `, ${formatTime(pipe)} copied through a pipe (${formatRatio(pipe / shm)} as long)` : "") +
          (post ? `, ${formatTime(post)} copied to a Worker by postMessage (${formatRatio(post / shm)} as long)` : "") +
          ".",
      );
    }
  }
  for (const op of ["get/int", "set/int"]) {
    const parts = RUNTIMES.map((impl) => {
      const row = results.find("list", op, impl);
      const py = row && results.ratio(row, "cpython");
      return row ? `${IMPL_NAMES[impl]} ${formatTime(row.p50)} (${speedVersus(py, "CPython")})` : "";
    }).filter(Boolean);
    if (parts.length) lines.push(`- ShareableList ${op} per item: ${parts.join("; ")}.`);
  }
  const mem = RUNTIMES.map((impl) => {
    const worst = Math.max(
      ...["fill", "write", "read"].map((op) => {
        const shm = results.median("memory", `${op}/shm`, impl);
        const priv = results.median("memory", `${op}/private`, impl);
        return shm && priv ? shm / priv : NaN;
      }).filter(Number.isFinite),
    );
    return Number.isFinite(worst) ? `${IMPL_NAMES[impl]} ${formatRatio(worst)}` : "";
  }).filter(Boolean);
  if (mem.length) {
    lines.push(
      `- Sequential access through the mapping vs an ArrayBuffer, worst of fill/write/read: ${mem.join(", ")}.`,
    );
  }
  const ffi = RUNTIMES.map((impl) => {
    const abs = results.median("ffi", "abs", impl);
    return abs ? `${IMPL_NAMES[impl]} ${formatTime(abs)}` : "";
  }).filter(Boolean);
  if (ffi.length) {
    lines.push(
      `- One FFI call with no system call: ${ffi.join(", ")} (C ${formatTime(results.median("ffi", "abs", "c"))}); ` +
        `a system call (getpid) costs ${formatTime(results.median("ffi", "getpid", "c"))} from C on this machine.`,
    );
  }
  return lines;
}

// ---- the report ----

export function renderReport(input: ReportInput): string {
  const results = new Results(input.results);
  const { machine, info } = input;
  const shared = info.otherCores >= 0.1;
  const out: string[] = [];
  out.push(
    info.mode === "quick" ? "# Benchmark results (quick check: tiny sizes, not for quoting)" : "# Benchmark results",
    "",
    `Written by \`deno task bench${info.mode === "quick" ? ":quick" : ""}\` (\`bench/main.ts\`), ${
      info.started.slice(0, 16).replace("T", " ")
    } UTC, commit ${machine.commit}, in ${info.seconds.toFixed(0)} s. Do not edit by hand: run the command again.`,
    "",
    "Times are medians over samples taken as mitata takes them (the same sampling is copied into the C and",
    "CPython programs); p25–p75 and min–max show the spread. **÷ C** and **÷ CPython** divide this row's median by",
    "theirs for the same work: below 1 is faster.",
    "",
  );
  if (shared) {
    out.push(
      `> **The machine was shared.** Other processes used ${
        info.otherCores.toFixed(2)
      } of the ${machine.cores} cores on average during`,
      `> this run (measured from /proc/stat; per-benchmark figures under each table), so times are noisier and`,
      `> somewhat slower than on an idle machine.`,
      "",
    );
  }
  if (input.failures.length > 0) {
    out.push(
      "## Failures",
      "",
      ...input.failures.map((f) => `- ${f.bench} in ${f.impl}: ${f.message.split("\n").join(" / ")}`),
      "",
    );
  }
  for (const skip of input.skipped) {
    out.push(`> Skipped: ${skip.bench} in ${IMPL_NAMES[skip.impl]}: ${skip.reason}.`, "");
  }

  out.push("## Headlines", "", ...headlines(results), "");
  const verdicts = targets(results, info);
  out.push(
    "## Targets (issues 6, 14, 15 and 16)",
    "",
    table(["target", ...RUNTIMES.map((r) => IMPL_NAMES[r])], verdicts.map((v) => [v.target, ...v.cells])),
    "",
    'Why a target is missed is discussed under "Reading the numbers" at the end.',
    "",
  );
  out.push(
    "## Machine",
    "",
    table(["", ""], [
      ["CPU", `${machine.cpu}; ${machine.cores} cores; virtualised: ${machine.virtualized}`],
      ["memory", machine.memory],
      ["kernel", machine.kernel],
      ["OS", `${machine.os}; ${machine.libc}`],
      ["Deno", machine.deno],
      ["Bun", machine.bun],
      ["Node", machine.node ?? "not recorded"],
      ["CPython", machine.python],
      ["C compiler", machine.cc],
      ["mitata", machine.mitata],
      [
        "run",
        `${info.mode}; other processes' CPU ${info.otherCores.toFixed(2)} cores on average; steal ${
          info.stealSeconds.toFixed(1)
        } s`,
      ],
    ], "left"),
    "",
  );
  out.push(
    simpleSection(results, info, "lifecycle", "1. Create and attach a 4 KiB segment"),
    "",
    memorySection(results, info),
    "",
    handoffSection(results, info),
    "",
    simpleSection(results, info, "list", `4. ShareableList of ${info.config.list_items} items`),
    "",
    simpleSection(results, info, "ffi", "5. The cost of one FFI call"),
    "",
    simpleSection(results, info, "sync", "6. Processes that wait for each other: a lock, and a ping-pong"),
    inTurnTable(info, IN_TURN_KEYS.pingPong, "The one-CPU round trip", "the target above"),
    "",
    simpleSection(results, info, "channel", "7. Channels between processes: messages one way, round trips, JSON"),
    inTurnTable(
      info,
      IN_TURN_KEYS.oneWay64,
      "64-byte messages one way between two pinned CPUs (reused buffers)",
      "the 15 M/s target",
    ),
    "",
    simpleSection(
      results,
      info,
      "startup",
      "Start-up of a child process or a Worker (not part of any handoff above)",
      "handoff",
    ),
    "",
    READING,
    "",
  );
  return out.join("\n");
}

/** The discussion of the numbers (kept with the code that produces them; the numbers are in the tables). */
const READING = [
  "## Reading the numbers",
  "",
  "- **This machine makes the kernel expensive.** It is a virtual machine: a system call costs about 1 µs",
  "  (`getpid` from C, section 5) and mapping a page 5-15 µs (first touch, section 2), 10-20× a bare-metal",
  "  machine. Whatever is made of system calls and page faults (sections 1 and 3) is slow here in every",
  "  language, C included; compare ratios, not absolute times, with other machines.",
  "- **Create and attach: where the gap to C comes from.** Read the rows top down. `raw FFI` makes exactly",
  "  C's system calls from the runtime: its distance from C is the runtime's (an FFI call costs a few ns,",
  "  section 5; an ArrayBuffer over the mapping and its detach under 1 µs). `track: false` adds the library's",
  "  own work (a random name, the handle, a FinalizationRegistry entry: each under 5 µs when timed alone).",
  "  The default adds tracking: the exit cleanup and the crash watcher, a second process that is told of",
  "  every create and unlink over a pipe and wakes on the other core (CPython pays the same kind of price",
  "  for its resource tracker). The C row `another thread running` shows the largest single cost a",
  "  runtime can add: when another thread of the process is running on the other core, `munmap` of a",
  "  touched page must interrupt that core to flush its TLB, and that alone more than doubles C's time",
  "  on this machine. Deno and Bun run JIT and GC threads (and the library's tracking wakes a watcher on",
  "  the other core), so how often that happens decides most of their distance from C; it is the likely",
  "  reason Deno's library rows sit well above its `raw FFI` row while Bun's do not (not proven: the JS",
  "  work between the calls measures under 5 µs).",
  "- **Handoff.** Through shared memory only a name crosses the pipe, so `shm-ends` stays within a few",
  "  hundred µs from 1 MiB to 1 GiB while every copying method grows with N (1000-100000×). What growth",
  "  remains is the kernel's: touching both ends of a larger mapping needs more page tables, and unmapping",
  "  frees them (C grows too); the ratio is largest where the 1 MiB handoff is fastest. When the child",
  "  touches every page of a mapping it has just attached (`shm-every8`), each page is mapped into the",
  "  child on first touch, which on this machine costs as much as copying the bytes through a pipe, or",
  "  more; a child that keeps its mapping (`kept-every8`) pays that once and is then 10-30× faster than",
  "  a pipe.",
  "  (C's loop loads and then stores, as the JIT and numpy do: a single read-modify-write instruction",
  "  takes a slower write fault per page and was almost twice as slow.) `postMessage` copies are the",
  "  slowest way in both runtimes, and the most variable: a round trip of N bytes writes 2-4 N bytes of",
  "  freshly allocated memory (each structured clone serialises the bytes into a buffer, then copies out of",
  "  it), and nearly all its time is the kernel mapping those pages. On this VM a fresh 4 KiB page costs",
  "  about 2 µs while the host still backs it and up to 19 µs once the host has taken it back (the guest",
  "  hands freed memory back), so one run differs from the next several-fold; the pipe copies go into",
  "  buffers that both ends allocate once and reuse, and pay none of it. `bench/post_message.ts` times the",
  "  copy alone, with its page faults and system time. Transferring the buffer moves it without a copy,",
  "  but only to a Worker of the same process.",
  "- **Sequential access.** A view of the mapping is an ordinary typed array to the JIT: fill, write and",
  "  read loops run at the same speed as over an ArrayBuffer, and at the memory system's speed for fill.",
  "- **Waiting (section 6).** A sleeping round trip on one CPU is two futex calls a side; rows taken minutes",
  "  apart move with the VM (C's own one-CPU row took 2.1-6.8 µs on different hours), which is why the",
  "  ping-pong target is judged on rounds in turn. With `waitAsync` on both sides each wake-up also runs the",
  "  event loop: Bun and Node are woken through io_uring with one context switch, Deno through its pool",
  "  thread with 2.4, and what the event loop spends per wake-up (not the switches: `perf stat` in",
  "  docs/runtime-facts.md) holds the async round trip above 25 µs on this VM.",
  "- **Channels (section 7).** The 64-byte rows move with where the host puts the VM's two vCPUs: C's",
  "  ring takes 16-17, 75-83 or 260-275 ns a message, each for tens of seconds at a time, and every runtime",
  "  with it (Deno's row, which had looked bimodal, took 245-287 ns exactly while C's took 261-275), which",
  "  is why the 15 M/s target is judged on rounds in turn with C's. A message costs each side one `Atomics.load`",
  "  of the other side's word (an engine call, 11-18 ns) besides its copy. A request and its reply on one",
  "  CPU sleep in 100 ms slices (a waiter checks that its peers live after each), a timed sleep, which",
  "  costs more than the ping-pong's untimed one (C: the `timed` row of section 6).",
  "- **Samples.** Rows whose single round trip is foreseen to take over `handoff_cap_ms` (4 s) get no",
  "  warm-up and as few as one sample: their spread says little. Other processes' CPU use is printed",
  "  under each table; where it is well above 0 the row was measured on a shared machine.",
].join("\n");

/**
 * Benchmark 3: hand an N-byte array to another process (or a Worker) and get it back changed, with a
 * receiver that is already running, so the handoff is measured and not start-up (start-up has rows
 * of its own). Methods:
 *
 * - `shm-ends`, `shm-every8`: the array lives in a segment; the child attaches by name, works in
 *   place, closes and answers. Nothing is copied; only the name crosses the pipe.
 * - `kept-every8`: the same, with the child keeping its mapping from one handoff to the next.
 * - `pipe-every8`: the bytes go down a pipe to the child and come back up another (two copies).
 * - `postMessage-every8`: structured clone to a Worker and back (two copies).
 * - `transfer-every8`: `postMessage` with the buffer transferred both ways (moved, not copied).
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { type Config, handoffSizes } from "./config.ts";
import { COMMAND_BYTES, readFully, writeFully } from "./handoff_child.ts";
import { benchName, check, emit, IMPL, log, now, sample, type Stats, statsOf } from "./harness.ts";

const CHILD = new URL("./handoff_child.ts", import.meta.url).pathname;
const WORKER = new URL("./handoff_worker.ts", import.meta.url).href;

const encoder = new TextEncoder();

/** Two FIFOs in a fresh folder: `down` to the child, `up` from it. */
interface Fifos {
  folder: string;
  down: string;
  up: string;
}

function makeFifos(): Fifos {
  const folder = mkdtempSync(`${tmpdir()}/shmbench_`);
  const fifos = { folder, down: `${folder}/down`, up: `${folder}/up` };
  const made = spawnSync("mkfifo", [fifos.down, fifos.up]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  return fifos;
}

/**
 * A running child process of this runtime, driven through two pipes with blocking reads and writes
 * (as the C baseline), made as FIFOs because neither runtime hands out the descriptors of a child's
 * stdin and stdout for blocking use.
 */
class Child {
  readonly #fifos: Fifos;
  readonly #process;
  readonly #down: number;
  readonly #up: number;
  readonly #answer = new Uint8Array(1);

  /** Starts the child on `fifos` and waits until it is ready. */
  constructor(fifos: Fifos = makeFifos()) {
    this.#fifos = fifos;
    const { down, up } = fifos;
    // Node's child gets this process's own flags (node:ffi, no ExperimentalWarning) before the script.
    const args = IMPL === "deno"
      ? ["run", "--allow-all", CHILD, down, up]
      : IMPL === "bun"
      ? ["run", CHILD, down, up]
      : [...process.execArgv, CHILD, down, up];
    this.#process = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    this.#down = openSync(down, "w");
    this.#up = openSync(up, "r");
    this.#expectOk("start-up");
  }

  #expectOk(what: string): void {
    check(readFully(this.#up, this.#answer) && this.#answer[0] === 107, `the child answers 'k' to ${what}`);
  }

  /** Sends one command; waits for `k` unless it is a pipe transfer. */
  command(line: string, answer = true): void {
    const command = new Uint8Array(COMMAND_BYTES).fill(32);
    command.set(encoder.encode(line));
    writeFully(this.#down, command);
    if (answer) this.#expectOk(line);
  }

  /** Copies `data` down the pipe and the changed bytes back into `back`. */
  pipe(data: Uint8Array, back: Uint8Array): void {
    this.command(`pipe every8 ${data.length}`, false);
    writeFully(this.#down, data);
    check(readFully(this.#up, back), "the child sends the bytes back");
  }

  quit(): void {
    try {
      this.command("quit", false);
      closeSync(this.#down);
      closeSync(this.#up);
    } finally {
      this.#process.kill();
      rmSync(this.#fifos.folder, { recursive: true, force: true });
    }
  }
}

/** The part of a Worker used here: the web Worker (Deno, Bun) or node:worker_threads' (Node has no web Worker). */
interface AnyWorker {
  postMessage(message: unknown, transfer: Transferable[]): void;
  terminate(): unknown;
}

/** The part of `node:worker_threads` used here. */
interface WorkerThreads {
  Worker: new (url: URL) => AnyWorker & { on(event: string, listener: (value: never) => void): void };
}

/** Starts the handoff Worker; `onMessage` gets each message's data. */
function startWorker(onMessage: (data: unknown) => void): AnyWorker {
  const fail = (message: string) => {
    throw new Error(`the Worker failed: ${message}`);
  };
  if (typeof Worker === "function") {
    const worker = new Worker(WORKER, { type: "module" });
    worker.onmessage = (event) => onMessage(event.data);
    worker.onerror = (event) => fail(event.message);
    return worker;
  }
  const threads = process.getBuiltinModule("node:worker_threads") as unknown as WorkerThreads;
  const worker = new threads.Worker(new URL(WORKER));
  worker.on("message", onMessage);
  worker.on("error", (error: Error) => fail(error.message));
  return worker;
}

/** A running Worker; its messages queue up until read. */
class Receiver {
  readonly worker: AnyWorker;
  #messages: unknown[] = [];
  #next: ((data: unknown) => void) | undefined;

  constructor() {
    this.worker = startWorker((data) => {
      const next = this.#next;
      this.#next = undefined;
      if (next) next(data);
      else this.#messages.push(data);
    });
  }

  reply(): Promise<unknown> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift());
    return new Promise((resolve) => this.#next = resolve);
  }

  async ready(): Promise<void> {
    check((await this.reply()) === "ready", "the Worker says ready");
  }

  async roundTrip(data: Uint8Array<ArrayBuffer>, transfer: boolean): Promise<Uint8Array<ArrayBuffer>> {
    const reply = this.reply();
    this.worker.postMessage({ data, work: "every8", transfer }, transfer ? [data.buffer] : []);
    return (await reply) as Uint8Array<ArrayBuffer>;
  }
}

/** The last median of each method, to foresee the next size's cost. */
const previous = new Map<string, { size: number; median: number }>();

/**
 * Samples one method at one size: a warm-up unless the previous size's median, scaled to this size,
 * foresees a round trip longer than `handoff_cap_ms`; then samples until `handoff_samples` and
 * `handoff_time_ms`, or until the samples took `handoff_cap_ms` in all (at least one sample).
 * baseline.c and cpython.py sample by the same rule.
 */
async function sampleHandoff(config: Config, op: string, size: number, body: () => unknown): Promise<Stats> {
  const cap = config.handoff_cap_ms * 1e6;
  const prior = previous.get(op);
  if (!prior || (prior.median * size) / prior.size <= cap) await body();
  const samples: number[] = [];
  let total = 0;
  while (
    !(samples.length >= config.handoff_samples && total >= config.handoff_time_ms * 1e6) &&
    !(samples.length >= 1 && total >= cap)
  ) {
    const t0 = now();
    await body();
    const elapsed = now() - t0;
    samples.push(elapsed);
    total += elapsed;
  }
  const stats = statsOf(samples);
  previous.set(op, { size, median: stats.p50 });
  return stats;
}

function report(op: string, size: number | undefined, stats: Stats, bench = "handoff"): void {
  emit({ bench, op, impl: IMPL, size, unit: "op", ...stats });
}

async function startups(config: Config): Promise<void> {
  log("child process start-up");
  const processStats = await sample(
    { minSamples: config.startup_samples, minTimeMs: 0 },
    makeFifos,
    (fifos) => new Child(fifos).quit(),
  );
  report("process", undefined, processStats, "startup");
  log("Worker start-up");
  const workerStats = await sample({ minSamples: config.startup_samples, minTimeMs: 0 }, () => {}, async () => {
    const receiver = new Receiver();
    await receiver.ready();
    receiver.worker.terminate();
  });
  report("worker", undefined, workerStats, "startup");
}

/** The shared memory methods: one segment per size, the child attaches by name. */
async function throughSharedMemory(config: Config, child: Child, size: number): Promise<void> {
  const shm = new SharedMemory({ name: benchName("handoff"), create: true, size });
  try {
    const bytes = shm.buf;
    bytes.fill(0);
    for (
      const [op, command] of [["shm-ends", "shm ends"], ["shm-every8", "shm every8"], ["kept-every8", "kept every8"]]
    ) {
      log(`${op} ${size} B`);
      const before = bytes[0];
      let handoffs = 0;
      const stats = await sampleHandoff(config, op, size, () => {
        child.command(`${command} ${shm.name}`);
        handoffs++;
      });
      check(bytes[0] === ((before + handoffs) & 255), `${op}: every change of the child is visible in place`);
      report(op, size, stats);
    }
    child.command(`release ${shm.name}`);
  } finally {
    shm.close();
    shm.unlink();
  }
}

async function throughPipe(config: Config, child: Child, size: number): Promise<void> {
  log(`pipe-every8 ${size} B`);
  const data = new Uint8Array(size);
  const back = new Uint8Array(size);
  const stats = await sampleHandoff(config, "pipe-every8", size, () => child.pipe(data, back));
  check(back[0] === data[0] + 1, "pipe: the changed bytes come back");
  report("pipe-every8", size, stats);
}

async function throughWorker(config: Config, receiver: Receiver, size: number): Promise<void> {
  log(`postMessage-every8 ${size} B`);
  const data = new Uint8Array(size);
  let back = data;
  const copied = await sampleHandoff(config, "postMessage-every8", size, async () => {
    back = await receiver.roundTrip(data, false);
  });
  check(back !== data && back[0] === data[0] + 1, "postMessage: a changed copy comes back");
  report("postMessage-every8", size, copied);

  log(`transfer-every8 ${size} B`);
  let moving = new Uint8Array(size);
  let handoffs = 0;
  const moved = await sampleHandoff(config, "transfer-every8", size, async () => {
    moving = await receiver.roundTrip(moving, true);
    handoffs++;
  });
  check(moving.length === size && moving[0] === (handoffs & 255), "transfer: the buffer comes back changed");
  report("transfer-every8", size, moved);
}

export async function run(config: Config): Promise<void> {
  await startups(config);
  const child = new Child();
  const receiver = new Receiver();
  try {
    await receiver.ready();
    for (const size of handoffSizes(config)) {
      await throughSharedMemory(config, child, size);
      await throughPipe(config, child, size);
      await throughWorker(config, receiver, size);
    }
  } finally {
    receiver.worker.terminate();
    child.quit();
  }
}

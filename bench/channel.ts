/**
 * Benchmark 7: channels between processes (issue 15). Each row is one way from a child process to this
 * one (or a round trip); the child is started once per row and sends `batches x batch` messages, and
 * this process times each batch it receives (times are per message).
 *
 * Placement of the one-way rows: this process (the receiver) on CPU 0 and the child (the sender) on
 * CPU 1, both pinned (`taskset`; this process pins itself, every thread, for the row and is given its
 * own CPUs back after), as bench/baseline.c's ring is: placed freely, the kernel sometimes puts both on
 * one CPU, and a row then measured 63-309 ns in one runtime from run to run. `oneway64` variant `free`
 * is the reused-buffer row placed by the kernel, `one-cpu` both on CPU 0.
 *
 * - `oneway64`: 64-byte messages through a channel of one sender and one receiver (the lock-free path):
 *   the child `trySend`s one reused buffer, this side `tryReceiveInto`s one reused buffer (variant
 *   `batch`: the sender `trySendMany`s 16 reused buffers at a time, one store of the tail per batch;
 *   `plain`: `send(new Uint8Array(64))` and `receive()`, a new Uint8Array per message each side;
 *   variant `many`: the same as the default through a channel of many senders and receivers, locked);
 * - `oneway64/pipe`: the same bytes as 64-byte `write(2)`s to a pipe (the child's stdout) in this runtime;
 * - `oneway1M`: 1 MiB messages: the child reserves, copies one source buffer in, commits; this side reads
 *   each as a view of the ring and releases it (one copy in all);
 * - `roundtrip/<placement>`: a 64-byte request over one channel and its reply over another, between two
 *   children placed as `sync`'s futex ping-pong is (one CPU, two CPUs, free), to compare with it;
 * - `json`: a small JSON record: through a channel (`send(value)` / `receive()`), by postMessage to a
 *   Worker and back (variant `postMessage`, per round trip / 2), and as JSON lines over a pipe
 *   (variant `pipe`).
 */
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { Channel } from "../mod.ts";
import type { Config } from "./config.ts";
import { benchName, check, emit, IMPL, log, now, statsOf } from "./harness.ts";
import { jsonValue } from "./channel_work.ts";
import { PLACEMENTS } from "./sync.ts";

const CHILD = new URL("./channel_child.ts", import.meta.url).pathname;
const WORKER = new URL("./channel_worker.ts", import.meta.url).href;

/** Where a one-way row's two sides run: this process (the receiver) and the child (the sender), as taskset CPU lists. */
const ONE_WAY: Record<string, [string | undefined, string | undefined]> = {
  "two-cpus": ["0", "1"],
  "one-cpu": ["0", "0"],
  free: [undefined, undefined],
};

/** Starts channel_child.ts with `args`, under `taskset -c cpus` when given (see sync.ts PLACEMENTS). */
function startChild(args: string[], cpus?: string) {
  // Node's child gets this process's own flags (node:ffi, no ExperimentalWarning) before the script.
  const runtime = IMPL === "deno"
    ? [process.execPath, "run", "--allow-all", CHILD, ...args]
    : IMPL === "bun"
    ? [process.execPath, "run", CHILD, ...args]
    : [process.execPath, ...process.execArgv, CHILD, ...args];
  const argv = cpus === undefined ? runtime : ["taskset", "-c", cpus, ...runtime];
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve, reject) =>
    child.on("exit", (code) => code === 0 ? resolve() : reject(new Error(`${args[0]} child exited with ${code}`)))
  );
  return { child, exited };
}

/**
 * Pins every thread of this process to `cpus` (taskset -a -p) until the returned function gives it
 * its CPUs back; nothing when `cpus` is undefined. New threads (a Worker) inherit the pinning.
 */
function pinSelf(cpus: string | undefined): () => void {
  if (cpus === undefined) return () => {};
  // taskset -a lists the threads, then sets each: one that ends in between (the runtimes' pool threads
  // end when idle) fails the call with "No such process" (here, 1 call in 3 beside a process making
  // threads), so it is tried again, setting every thread again.
  const taskset = (args: string[]) => {
    for (let attempt = 1;; attempt++) {
      const run = spawnSync("taskset", args, { encoding: "utf8" });
      if (run.status === 0) return run.stdout;
      check(attempt < 20 && run.stderr.includes("No such process"), `taskset ${args.join(" ")}: ${run.stderr}`);
    }
  };
  // "pid 123's current affinity list: 0,1"
  const own = taskset(["-c", "-p", String(process.pid)]).trim().split(": ").pop()!;
  taskset(["-a", "-c", "-p", cpus, String(process.pid)]);
  return () => taskset(["-a", "-c", "-p", own, String(process.pid)]);
}

interface Sizes {
  batches: number;
  batch: number;
}

function sizes(config: Config, batch: number): Sizes {
  return { batches: config.quick ? 3 : 15, batch: config.quick ? Math.max(1, batch >> 6) : batch };
}

/** Receives `batches x batch` messages with `receiveOne`, timing each batch: per-message statistics. */
function timeBatches({ batches, batch }: Sizes, receiveOne: () => void): ReturnType<typeof statsOf> {
  receiveOne(); // the first message: the child is running
  const durations: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = now();
    for (let i = b === 0 ? 1 : 0; i < batch; i++) receiveOne();
    durations.push((now() - t0) / (b === 0 ? batch - 1 : batch));
  }
  return statsOf(durations);
}

async function oneWay64(
  config: Config,
  variant: "reused" | "batch" | "plain" | "many",
  placement = "two-cpus",
): Promise<void> {
  const s = sizes(config, 200_000);
  const one = variant === "many" ? {} : { senders: "one", receivers: "one" } as const;
  using channel = Channel.create({ capacity: 1 << 16, name: benchName("chan64"), ...one });
  const [receiverCpus, senderCpus] = ONE_WAY[placement];
  const unpin = pinSelf(receiverCpus);
  try {
    const run = startChild([
      variant === "plain" ? "sendplain" : variant === "batch" ? "send64many" : "send64",
      JSON.stringify(channel),
      String(s.batches * s.batch),
    ], senderCpus);
    const buffer = new Uint8Array(64);
    const stats = variant === "plain"
      ? timeBatches(s, () => check(channel.receive() !== undefined, "a message came"))
      : timeBatches(s, () => {
        if (channel.tryReceiveInto(buffer) < 0) check(channel.receiveInto(buffer) === 64, "a message came");
      });
    await run.exited;
    const named = placement === "two-cpus" ? variant : placement; // the placement rows are of reused buffers
    emit({
      bench: "channel",
      op: "oneway64",
      impl: IMPL,
      variant: named === "reused" ? undefined : named,
      unit: "message",
      bytes: 64,
      ...stats,
    });
  } finally {
    unpin();
  }
}

/** 64-byte writes (or JSON lines) to a pipe, the child on CPU 1 and this process on CPU 0, as the ring's rows. */
async function pipe64(config: Config, json: boolean): Promise<void> {
  const [receiverCpus, senderCpus] = ONE_WAY["two-cpus"];
  const unpin = pinSelf(receiverCpus);
  try {
    await pipeRow(config, json, senderCpus);
  } finally {
    unpin();
  }
}

async function pipeRow(config: Config, json: boolean, senderCpus: string | undefined): Promise<void> {
  const s = sizes(config, json ? 50_000 : 100_000);
  const run = startChild([json ? "pipejson" : "pipe64", String(s.batches * s.batch)], senderCpus);
  const durations: number[] = [];
  let pending = "";
  let count = 0;
  let t0 = now();
  await new Promise<void>((resolve) => {
    run.child.stdout!.on("data", (chunk: Uint8Array) => {
      let got: number;
      if (json) {
        pending += new TextDecoder().decode(chunk);
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) JSON.parse(line);
        got = lines.length;
      } else got = chunk.length / 64;
      const before = count;
      count += got;
      if (Math.floor(count / s.batch) > Math.floor(before / s.batch) && durations.length < s.batches) {
        const t1 = now();
        durations.push((t1 - t0) / s.batch);
        t0 = t1;
      }
    });
    run.child.stdout!.on("end", resolve);
  });
  await run.exited;
  check(Math.round(count) === s.batches * s.batch, `all ${json ? "lines" : "bytes"} came`);
  emit({
    bench: "channel",
    op: json ? "json" : "oneway64",
    impl: IMPL,
    variant: "pipe",
    unit: "message",
    bytes: json ? undefined : 64,
    ...statsOf(durations.slice(1)),
  });
}

async function oneWay1M(config: Config): Promise<void> {
  const s = { batches: config.quick ? 3 : 10, batch: config.quick ? 2 : 200 };
  using channel = Channel.create({ capacity: 4 << 20, name: benchName("chan1m"), senders: "one", receivers: "one" });
  const [receiverCpus, senderCpus] = ONE_WAY["two-cpus"];
  const unpin = pinSelf(receiverCpus);
  try {
    const run = startChild(["send1M", JSON.stringify(channel), String(s.batches * s.batch)], senderCpus);
    const stats = timeBatches(s, () => {
      const view = channel.receiveView();
      check(view !== undefined && view.length === 1 << 20 && view[12345] === 7, "a 1 MiB message came");
      channel.release();
    });
    await run.exited;
    emit({ bench: "channel", op: "oneway1M", impl: IMPL, unit: "message", bytes: 1 << 20, ...stats });
  } finally {
    unpin();
  }
}

/**
 * Round trips between two children placed as sync.ts places its ping-pong (one CPU, two, free): `ping`
 * sends a 64-byte request and waits for the reply, warming up for 1 s as the ping-pong does, then timing
 * batches; `echo` sends each request back until `ping` ends the request channel.
 */
async function roundTrip(config: Config, placement: string): Promise<void> {
  const s = { batches: config.quick ? 3 : 15, batch: config.quick ? 200 : 2000 }; // as sync.ts's ping-pong
  using request = Channel.create({ capacity: 4096, name: benchName("chanreq"), senders: "one", receivers: "one" });
  using reply = Channel.create({ capacity: 4096, name: benchName("chanrep"), senders: "one", receivers: "one" });
  const [pingCpus, echoCpus] = PLACEMENTS[placement];
  const channels = [JSON.stringify(request), JSON.stringify(reply)];
  const warmupMs = config.quick ? 0 : 1000; // as sync.ts's ping-pong
  const echo = startChild(["echo", ...channels], echoCpus);
  const ping = startChild(["ping", ...channels, String(s.batches), String(s.batch), String(warmupMs)], pingCpus);
  let out = "";
  ping.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
  await Promise.all([ping.exited, echo.exited]);
  const durations = JSON.parse(out) as number[];
  check(durations.length === s.batches, "ping timed every batch");
  emit({ bench: "channel", op: `roundtrip/${placement}`, impl: IMPL, unit: "round trip", ...statsOf(durations) });
}

async function jsonChannel(config: Config): Promise<void> {
  const s = sizes(config, 50_000);
  using channel = Channel.create({ capacity: 1 << 16, name: benchName("chanjson"), senders: "one", receivers: "one" });
  const [receiverCpus, senderCpus] = ONE_WAY["two-cpus"];
  const unpin = pinSelf(receiverCpus);
  try {
    const run = startChild(["sendjson", JSON.stringify(channel), String(s.batches * s.batch)], senderCpus);
    const stats = timeBatches(s, () => check(typeof channel.receive() === "object", "a JSON value came"));
    await run.exited;
    emit({ bench: "channel", op: "json", impl: IMPL, unit: "message", ...stats });
  } finally {
    unpin();
  }
}

/** The part of a Worker used here: the web Worker (Deno, Bun) or node:worker_threads' (Node has no web Worker). */
interface EchoWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
  /** Sets the one listener of the Worker's answers. */
  listen(onMessage: () => void): void;
}

function startWorker(): EchoWorker {
  if (typeof Worker === "function") {
    const worker = new Worker(WORKER, { type: "module" });
    return Object.assign(worker, { listen: (onMessage: () => void) => worker.onmessage = onMessage });
  }
  const threads = process.getBuiltinModule("node:worker_threads") as unknown as {
    Worker: new (
      url: URL,
    ) => EchoWorker & { removeAllListeners(event: string): void; on(e: string, l: () => void): void };
  };
  const worker = new threads.Worker(new URL(WORKER));
  return Object.assign(worker, {
    listen(onMessage: () => void) {
      worker.removeAllListeners("message");
      worker.on("message", onMessage);
    },
  });
}

/** JSON values to a Worker and back (the Worker is not pinned: its thread is this process's). */
async function jsonPostMessage(config: Config): Promise<void> {
  const s = sizes(config, 20_000);
  const worker = startWorker();
  try {
    const durations: number[] = [];
    for (let b = -1; b < s.batches; b++) {
      const t0 = now();
      await new Promise<void>((resolve) => {
        let left = s.batch;
        worker.listen(() => {
          if (--left === 0) resolve();
        });
        for (let i = 0; i < s.batch; i++) worker.postMessage(jsonValue(i));
      });
      if (b >= 0) durations.push((now() - t0) / s.batch / 2); // there and back: half is one way
    }
    emit({ bench: "channel", op: "json", impl: IMPL, variant: "postMessage", unit: "message", ...statsOf(durations) });
  } finally {
    worker.terminate();
  }
}

/** The 64-byte rows one way, each variant with one side pinned on each CPU. */
async function oneWay64Variants(config: Config): Promise<void> {
  for (const variant of ["reused", "batch", "plain", "many"] as const) {
    log(`64-byte messages one way (${variant}), one CPU each`);
    await oneWay64(config, variant);
  }
}

/**
 * Every row, or with SHM_BENCH_ROWS=roundtrip in the environment only the round trips, with
 * SHM_BENCH_ROWS=oneway64 only the 64-byte rows one way (a quick look at a few rows: the key=value
 * config is shared with C and Python, which run every row), with SHM_BENCH_ROWS=oneway64-reused only
 * the first of them (as baseline.c does: bench/main.ts's rounds in turn).
 */
export async function run(config: Config): Promise<void> {
  if (process.env.SHM_BENCH_ROWS === "oneway64-reused") {
    // that row alone: bench/main.ts's rounds in turn with C's (IN_TURN_ROWS there)
    await oneWay64(config, "reused");
    return;
  }
  if (process.env.SHM_BENCH_ROWS === "roundtrip") {
    for (const placement of Object.keys(PLACEMENTS)) await roundTrip(config, placement);
    return;
  }
  await oneWay64Variants(config);
  if (process.env.SHM_BENCH_ROWS === "oneway64") return;
  for (const placement of ["free", "one-cpu"]) {
    log(`64-byte messages one way (reused), ${placement}`);
    await oneWay64(config, "reused", placement);
  }
  log("64-byte writes to a pipe");
  await pipe64(config, false);
  log("1 MiB messages one way");
  await oneWay1M(config);
  for (const placement of Object.keys(PLACEMENTS)) {
    log(`request/reply round trips over two channels, ${placement}`);
    await roundTrip(config, placement);
  }
  log("JSON messages: channel, postMessage, JSON lines over a pipe");
  await jsonChannel(config);
  await jsonPostMessage(config);
  await pipe64(config, true);
}

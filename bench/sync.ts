/**
 * Benchmark 6: processes that wait for each other (issue 14).
 *
 * - `lock`: an uncontended Mutex lock + unlock (a process-shared robust pthread mutex in a segment).
 * - `pingpong/<placement>`: a round trip between two processes through one futex word: ping moves the
 *   word on and wakes pong, pong moves it on and wakes ping. Both processes on one CPU (`taskset -c 0`),
 *   on two CPUs (`-c 0` and `-c 1`), or placed freely by the kernel. The plain row sleeps with no time
 *   limit (`futex.wait(word, 0, turn)`), as C's row does; variants: `timed` (a 10 s limit on every
 *   sleep, in C too: one clock read and a relative timespec each), `async` (waitAsync on both sides,
 *   the event loop free; no C row), `async-one` (waitAsync on ping's side, pong sleeping as in the
 *   plain row), `spin` (the library's adaptive spin before sleeping, skipped where a process may run on
 *   one CPU only, so in `two-cpus` too, each process being pinned to one; C spins 2000 PAUSEs anyway).
 *   Each child warms up for 1 s (not with --quick) before it times (bench/sync_child.ts): without it
 *   the rows measured the JIT's warm-up (the first 15,000 round trips or so run 1.5-4x slower on one CPU).
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { Mutex, SharedMemory } from "../mod.ts";
import type { Config } from "./config.ts";
import { benchName, check, emit, IMPL, log, microPolicy, statsOf, time } from "./harness.ts";

const CHILD = new URL("./sync_child.ts", import.meta.url).pathname;

/** Where each side runs: taskset CPU lists (undefined: anywhere). */
export const PLACEMENTS: Record<string, [string | undefined, string | undefined]> = {
  "one-cpu": ["0", "0"],
  "two-cpus": ["0", "1"],
  free: [undefined, undefined],
};

function childCommand(cpus: string | undefined, args: string[]): string[] {
  // Node's child gets this process's own flags (node:ffi, no ExperimentalWarning) before the script.
  const runtime = IMPL === "deno"
    ? [process.execPath, "run", "--allow-all", CHILD]
    : IMPL === "bun"
    ? [process.execPath, "run", CHILD]
    : [process.execPath, ...process.execArgv, CHILD];
  return cpus === undefined ? [...runtime, ...args] : ["taskset", "-c", cpus, ...runtime, ...args];
}

function runChild(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
    child.on("exit", (code) => code === 0 ? resolve(out) : reject(new Error(`${argv.join(" ")} exited with ${code}`)));
  });
}

/** One ping-pong row. */
export async function pingPong(config: Config, placement: string, mode: string): Promise<void> {
  const shm = new SharedMemory({ name: benchName("pingpong"), create: true, size: 64 });
  try {
    const samples = config.quick ? 3 : 15;
    const batch = config.quick ? 200 : 2000;
    const [pingCpus, pongCpus] = PLACEMENTS[placement];
    const warmupMs = config.quick ? 0 : 1000;
    const args = (role: string) => [role, shm.name, String(samples), String(batch), mode, String(warmupMs)];
    const [out] = await Promise.all([
      runChild(childCommand(pingCpus, args("ping"))),
      runChild(childCommand(pongCpus, args("pong"))),
    ]);
    const durations = JSON.parse(out) as number[];
    check(durations.length === samples, "ping timed every batch");
    const variant = mode === "sync" ? undefined : mode;
    emit({
      bench: "sync",
      op: `pingpong/${placement}`,
      impl: IMPL,
      variant,
      unit: "round trip",
      ...statsOf(durations, batch),
    });
  } finally {
    shm.close();
    shm.unlink();
  }
}

export async function run(config: Config): Promise<void> {
  if (process.env.SHM_BENCH_ROWS === "pingpong-one-cpu") {
    // that row alone: bench/main.ts's rounds in turn with C's (IN_TURN there)
    await pingPong(config, "one-cpu", "sync");
    return;
  }
  log("lock + unlock");
  const mutex = Mutex.create({ name: benchName("lock") });
  try {
    const stats = await time(() => {
      mutex.lock();
      mutex.unlock();
    }, microPolicy(config));
    check(mutex.tryLock(), "the mutex is free after the benchmark");
    mutex.unlock();
    emit({ bench: "sync", op: "lock", impl: IMPL, unit: "op", ...stats });
  } finally {
    mutex[Symbol.dispose]();
  }
  for (const placement of Object.keys(PLACEMENTS)) {
    for (const mode of ["sync", "timed", "async", "async-one", "spin"]) {
      log(`ping-pong ${placement} ${mode}`);
      await pingPong(config, placement, mode);
    }
  }
}

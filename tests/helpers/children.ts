/**
 * Children that a cleanup test drives while they run: their lines as they come, signals, their crash
 * watchers (found in /proc by their command line), and bounded waits on segments and processes.
 */
import process from "node:process";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type ChildResult, start } from "./processes.ts";
import { segmentExists } from "./segments.ts";

/** A running child. */
export type Launched = ReturnType<typeof launch>;

/** Starts `command` in a process group of its own (so that SIGINT reaches it: see docs/runtime-facts.md). */
export function launch(command: readonly string[]) {
  const child = start(command, { detached: true });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout += chunk);
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr += chunk);
  // "exit" is the child's own end; "close" waits for every holder of its output, its crash watcher too.
  const exited = new Promise<{ status: number | null; signal: string | null; at: number }>((resolve) =>
    child.on("exit", (status, signal) => resolve({ status, signal, at: performance.now() }))
  );
  const ended = new Promise<ChildResult>((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }))
  );
  return {
    pid: child.pid!,
    exited,
    ended,
    get stderr() {
      return stderr;
    },
    /** The `index`-th line the child printed, parsed as JSON; rejects if the child ends first or after `limitMs`. */
    line<T>(index: number, limitMs = 20_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line ${index} after ${limitMs} ms:\n${stdout}${stderr}`)),
          limitMs,
        );
        const check = () => {
          const lines = stdout.split("\n");
          if (lines.length <= index + 1) return;
          child.stdout.off("data", check);
          clearTimeout(timer);
          resolve(JSON.parse(lines[index]));
        };
        child.stdout.on("data", check);
        exited.then(() =>
          setTimeout(() => {
            clearTimeout(timer);
            reject(new Error(`the child ended before line ${index}:\n${stdout}${stderr}`));
          }, 100)
        );
        check();
      });
    },
    /** Sends `signal` to the child, or to its whole process group as a terminal's Ctrl-C does. */
    kill(signal: NodeJS.Signals, group = false) {
      process.kill(group ? -child.pid! : child.pid!, signal);
    },
    /** SIGKILLs the child if it still runs (cleanup only). */
    stop() {
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

/** The pids of the crash watchers that watch process `pid` (`ffi/watcher.ts FD PID` in their command line). */
export function watchersOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter((arg) => arg !== "");
    } catch {
      continue;
    }
    const script = argv.findIndex((arg) => arg.endsWith("ffi/watcher.ts"));
    if (script >= 0 && argv[script + 2] === String(pid)) found.push(Number(entry));
  }
  return found;
}

/**
 * Whether process `pid` still runs, or still holds its files: a zombie counts as gone only once its
 * other threads have exited too (a killed leader turns zombie while its threads still hold its descriptors).
 */
export function alive(pid: number): boolean {
  try {
    const zombie = /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
    return !zombie || readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/** Polls `done` every 10 ms until it holds or `limitMs` pass; returns whether it held. */
export async function waitFor(done: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Waits until none of `names` exists, at most `limitMs`; returns those left. */
export async function waitUntilGone(names: readonly string[], limitMs: number): Promise<string[]> {
  await waitFor(() => !names.some(segmentExists), limitMs);
  return names.filter(segmentExists);
}

/** Sends `signal` to process `pid` if it still exists (a watcher this test found; cleanup only). */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

/** `promise`'s value, or undefined if it takes longer than `limitMs`. */
export function within<T>(promise: Promise<T>, limitMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), limitMs));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The bound on one cross-process cleanup test (`test(name, { timeout }, fn)`): Bun stops an async test
 * after 5 s unless told otherwise (it does not apply bunfig's `timeout` here), and these run children.
 */
export const TEST_TIMEOUT_MS = 60_000;

/** Peers for the sync tests: a Deno, Bun, Node or python3 process running tests/fixtures/sync_peer.{ts,py}. */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { futex, SharedMemory, type WaitResult } from "../../mod.ts";
import { PYTHON, ROOT, scriptCommand } from "./processes.ts";
import { uniqueName } from "./segments.ts";

/** The four kinds of process every sync behaviour is tried across. */
export type Peer = "deno" | "bun" | "node" | "python3";
export const PEERS: readonly Peer[] = ["deno", "bun", "node", "python3"];

/** The command line of a sync peer. */
export function peerCommand(peer: Peer, args: readonly string[]): string[] {
  if (peer === "python3" && args[0] === "-c") return [PYTHON, ...args]; // inline code rather than the fixture
  return peer === "python3"
    ? [PYTHON, `${ROOT}tests/fixtures/sync_peer.py`, ...args]
    : scriptCommand(peer, "tests/fixtures/sync_peer.ts", args);
}

/** A running peer: its output so far, its end, and a way to wait for a line. */
export interface Running {
  readonly child: ChildProcess;
  /** Resolves to the whole stdout (trimmed) when it exits 0; rejects otherwise, or after `limitMs`. */
  readonly done: Promise<string>;
  /** Resolves when stdout has a line equal to `line`. */
  line(line: string): Promise<void>;
  /** The next line of stdout not yet taken by `nextLine` (rejects if the peer ends first). */
  nextLine(): Promise<string>;
}

/** Starts a peer (under `taskset -c cpus` when given); it is SIGKILLed if it runs longer than `limitMs`. */
export function startPeer(peer: Peer, args: readonly string[], limitMs = 60_000, cpus?: string): Running {
  const command = peerCommand(peer, args);
  const [file, ...rest] = cpus === undefined ? command : ["taskset", "-c", cpus, ...command];
  // stdin is a pipe: a peer that reads it (mutex-hold-forks) waits for the test's go
  const child = spawn(file, rest, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr += chunk);
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const end = () => {
        if (code === 0) resolve(stdout.trim());
        else reject(new Error(`${peer} ${args.join(" ")} ended with ${code ?? signal}\n${stdout}\n${stderr}`));
      };
      // "exit" may come before the last of stdout (seen in Node: a peer's one line read as ""); a grandchild
      // that keeps the pipe open must not hold the answer back for long, though.
      if (child.stdout!.readableEnded) return end();
      child.stdout!.once("end", end);
      setTimeout(end, 500);
    });
  });
  done.catch(() => {});
  const line = (wanted: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stdout.split("\n").includes(wanted)) {
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      check();
      done.then(() => check(), reject);
    });
  let taken = 0;
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const lines = stdout.split("\n");
        if (lines.length - 1 > taken) {
          listeners.delete(check);
          resolve(lines[taken++]);
        }
      };
      listeners.add(check);
      check();
      done.then(() => check(), reject).then(() => reject(new Error(`${peer} ended before another line`)));
    });
  return { child, done, line, nextLine };
}

/** Runs a peer to its end: its stdout, trimmed. */
export function runPeer(peer: Peer, args: readonly string[], limitMs = 60_000): Promise<string> {
  return startPeer(peer, args, limitMs).done;
}

/**
 * Waits (at most `ms`) until process `pid` sleeps in the kernel: its main thread in `futex` (202 on
 * x86-64), or with `"futex_waitv"` any of its threads in `futex_waitv` (449: the thread of a pending
 * async wait, where the main thread may sit in the GIL's futex or the event loop's poll meanwhile).
 */
export async function untilInFutex(pid: number, ms: number, call: "futex" | "futex_waitv" = "futex"): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    try {
      if (call === "futex" && readFileSync(`/proc/${pid}/syscall`, "utf8").startsWith("202 ")) return;
      if (call === "futex_waitv") {
        for (const task of readdirSync(`/proc/${pid}/task`)) {
          if (readFileSync(`/proc/${pid}/task/${task}/syscall`, "utf8").startsWith("449 ")) return;
        }
      }
    } catch { /* not readable here (or a thread ended meanwhile): the time bound below is all we have */ }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A python3 program (run as `startPeer("python3", ["-c", PYTHON_BLOCKED_LOCKER, descriptor, seconds])`) that
 * attaches the mutex, says "ready", and at a line on stdin blocks in pthread's lock for at most `seconds`;
 * prints "true" or "false".
 */
export const PYTHON_BLOCKED_LOCKER = `
import os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "python"))
from shm_interop import sync
mutex = sync.Mutex(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
locked = mutex.acquire(timeout=float(sys.argv[2]))
print("true" if locked else "false", flush=True)
if locked:
    mutex.release()
mutex.close()
`;

/**
 * `count` pending `futex.waitAsync`s, one on each word of a new segment, each limited to 30 s. Disposing
 * it changes and notifies every word, waits (10 s at most) for every wait to settle, and removes the
 * segment: the review tests of many groups at once.
 */
export function waitsOnEveryWord(tag: string, count: number): {
  words: Int32Array;
  waits: Promise<WaitResult>[];
  [Symbol.asyncDispose](): Promise<void>;
} {
  const shm = new SharedMemory({ name: uniqueName(tag), create: true, size: count * 4 });
  const words = new Int32Array(shm.buf.buffer);
  const waits = Array.from({ length: count }, (_, i) => futex.waitAsync(words, i, 0, { timeout: 30_000 }));
  return {
    words,
    waits,
    async [Symbol.asyncDispose]() {
      for (let i = 0; i < count; i++) {
        Atomics.store(words, i, 1);
        futex.notify(words, i);
      }
      await Promise.race([Promise.allSettled(waits), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      shm[Symbol.dispose]();
    },
  };
}

/**
 * The one place that asks which runtime this is. Loading is lazy: importing the library never fails,
 * and on an unsupported runtime or platform the first call that needs libc throws a clear error.
 */
import type { Libc, RawLibc, SystemCalls } from "./libc.ts";
import { type Platform, platformFor } from "./platforms.ts";
import { posixLibc, posixSystemCalls } from "./posix.ts";
import type { ProcessRuntime } from "./process.ts";
import { bindDeno } from "./deno.ts";
import { bindBun } from "./bun.ts";
import { bindNode, bindNodeUring, bindNodeWait, nodeFfi, nodeWorkerThread } from "./node.ts";
import { denoProcess } from "./process_deno.ts";
import { bunProcess } from "./process_bun.ts";
import { nodeProcess } from "./process_node.ts";
import { bindDenoWait } from "./deno.ts";
import { bindBunUring, bindBunWait } from "./bun.ts";
import { type RawUring, URING_SYSCALLS, uringOffLoop } from "./uring.ts";
import type { LinuxSync } from "./platforms.ts";
import { linuxWaitCalls, poolOffLoop, type RawWait, type WaitCalls, webWorkerThread, workerOffLoop } from "./wait.ts";

/** Why libc could not be loaded; thrown by every call that needs it. */
export class UnsupportedPlatformError extends Error {
  /** Made by the library; `message` says what is missing and what would work. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnsupportedPlatformError";
  }
}

interface Runtime {
  readonly name: "deno" | "bun" | "node";
  readonly os: string;
  readonly arch: string;
  /** Opens libc: the one symbol table of this runtime. */
  bind(platform: Platform): RawLibc;
  /** This runtime's exit hook and subprocesses. */
  process(): ProcessRuntime;
  /** Why this runtime cannot load libc at all (a Node without `node:ffi`), or undefined. */
  readonly missing?: string;
}

/** The part of Node's `process` read here (Deno and Bun have it too, which is why they are asked first). */
interface NodeProcess {
  readonly platform: string;
  readonly arch: string;
  readonly version: string;
  readonly release?: { name?: string };
}

/** The first Node.js with `node:ffi`, and the first where it is on without `--experimental-ffi`. */
const NODE_FFI_SINCE = [26, 1];
const NODE_FFI_DEFAULT_SINCE = [26, 9];

/**
 * Why a Node of `version` (such as `v26.10.0`) has no `node:ffi`: too old, or run without the flag
 * (26.1-26.8), or with `--no-experimental-ffi` (26.9 on, where it is on by default).
 */
export function whyNoNodeFfi(version: string): string {
  const [major, minor] = version.slice(1).split(".").map(Number);
  const atLeast = ([m, n]: number[]) => major > m || (major === m && minor >= n);
  const why = !atLeast(NODE_FFI_SINCE)
    ? "has no node:ffi"
    : atLeast(NODE_FFI_DEFAULT_SINCE)
    ? "has it turned off (--no-experimental-ffi)"
    : "has it only with --experimental-ffi";
  return `shared memory in Node.js needs node:ffi (Node.js 26.1 or later, run with --experimental-ffi); Node.js ${version} ${why}`;
}

/** The runtime this code runs in, or undefined (a browser, an unknown runtime). */
export function currentRuntime(): Runtime | undefined {
  const g = globalThis as { Deno?: { build: { os: string; arch: string } }; Bun?: unknown; process?: NodeProcess };
  if (g.Bun !== undefined) {
    const process = g.process!;
    return { name: "bun", os: process.platform, arch: process.arch, bind: bindBun, process: bunProcess };
  }
  if (g.Deno !== undefined) {
    return { name: "deno", os: g.Deno.build.os, arch: g.Deno.build.arch, bind: bindDeno, process: denoProcess };
  }
  const process = g.process;
  if (process?.release?.name === "node") {
    const missing = nodeFfi() ? undefined : whyNoNodeFfi(process.version);
    return { name: "node", os: process.platform, arch: process.arch, bind: bindNode, process: nodeProcess, missing };
  }
  return undefined;
}

/** This runtime, or a clear error. */
function supportedRuntime(): Runtime {
  const runtime = currentRuntime();
  if (!runtime) {
    throw new UnsupportedPlatformError(
      "shared memory needs Deno (with --allow-ffi), Bun, or Node.js 26.1+ (node:ffi); this runtime is none of them",
    );
  }
  if (runtime.missing) throw new UnsupportedPlatformError(runtime.missing);
  return runtime;
}

/** The raw binding and its platform, loaded once for `libc()` and `systemCalls()` alike. */
let bound: { raw: RawLibc; platform: Platform } | undefined;

function bind(): { raw: RawLibc; platform: Platform } {
  if (bound) return bound;
  const runtime = supportedRuntime();
  const platform = platformFor(runtime.os, runtime.arch);
  if (!platform) {
    const supported = "Linux and macOS on x86-64 or arm64 are supported";
    throw new UnsupportedPlatformError(
      `POSIX shared memory is not available on ${runtime.os}-${runtime.arch}: ${supported}`,
    );
  }
  try {
    return bound = { raw: runtime.bind(platform), platform };
  } catch (cause) {
    const denied = cause instanceof Error && (cause.name === "NotCapable" || cause.name === "PermissionDenied");
    // Node's permission model (`--permission`) refuses node:ffi without --allow-ffi.
    const nodeDenied = (cause as { code?: unknown } | undefined)?.code === "ERR_ACCESS_DENIED";
    const hint = denied ? ": run Deno with --allow-ffi" : nodeDenied ? ": run Node.js with --allow-ffi" : "";
    const libraries = [...new Set(platform.libraries.map((library) => library.libc))].join(", ");
    throw new UnsupportedPlatformError(`could not load libc (${libraries}) in ${runtime.name}${hint}`, { cause });
  }
}

let loaded: Libc | undefined;

/** libc for this runtime and platform, loaded on first use. */
export function libc(): Libc {
  if (loaded) return loaded;
  const { raw, platform } = bind();
  return loaded = posixLibc(raw, platform);
}

let calls: SystemCalls | undefined;

/** The pipe, environment and clock calls of cleanup, from the same binding as `libc()`: for `src/cleanup/` only. */
export function systemCalls(): SystemCalls {
  if (calls) return calls;
  const { raw, platform } = bind();
  return calls = posixSystemCalls(raw, platform);
}

let chosenProcess: ProcessRuntime | undefined;

/** This runtime's process (exit hook, subprocesses), made on first use: for `src/cleanup/` only. */
export function processRuntime(): ProcessRuntime {
  return chosenProcess ??= supportedRuntime().process();
}

/** The wait calls' binding and the platform's constants, loaded once (also inside a wait thread). */
let boundWait: { raw: RawWait; sync: LinuxSync } | undefined;

function bindWait(): { raw: RawWait; sync: LinuxSync } {
  if (boundWait) return boundWait;
  const runtime = supportedRuntime();
  const platform = platformFor(runtime.os, runtime.arch);
  const sync = platform?.sync;
  if (!platform || sync?.wait !== "futex") {
    throw new UnsupportedPlatformError(
      `waiting across processes is not available on ${runtime.os}-${runtime.arch} yet: Linux on x86-64 or arm64 is supported`,
    );
  }
  try {
    const bindings = { deno: bindDenoWait, bun: bindBunWait, node: bindNodeWait };
    const raw = bindings[runtime.name](platform, sync);
    return boundWait = { raw, sync };
  } catch (cause) {
    const denied = cause instanceof Error && (cause.name === "NotCapable" || cause.name === "PermissionDenied");
    const nodeDenied = (cause as { code?: unknown } | undefined)?.code === "ERR_ACCESS_DENIED";
    const hint = denied ? ": run Deno with --allow-ffi" : nodeDenied ? ": run Node.js with --allow-ffi" : "";
    throw new UnsupportedPlatformError(`could not load the wait calls in ${runtime.name}${hint}`, { cause });
  }
}

/** The raw wait binding, for the wait thread (`wait_thread.ts`). Never for `src/`. */
export function rawWaitBinding(): RawWait {
  return bindWait().raw;
}

let waits: WaitCalls | undefined;

/** Whether this is the process's main thread, not a Worker's (Bun and Node both have `node:worker_threads`). */
function onMainThread(): boolean {
  const process = (globalThis as { process?: { getBuiltinModule?(id: string): { isMainThread?: boolean } } }).process;
  return process?.getBuiltinModule?.("node:worker_threads")?.isMainThread ?? true;
}

/** Waiting and waking across processes, and the robust mutex (issue 14), loaded on first use. */
export function waitCalls(): WaitCalls {
  if (waits) return waits;
  const { raw, sync } = bindWait();
  // Deno runs a blocking call on its pool of threads; Bun needs a web Worker for it, Node a worker_threads one.
  // Where io_uring waits on futexes (Linux 6.7+), Bun and Node need no thread at all (uring.ts).
  const name = currentRuntime()?.name;
  const thread = name === "node" ? nodeWorkerThread(raw) : webWorkerThread;
  let uring: RawUring | undefined;
  const ring = () => {
    const runtime = supportedRuntime();
    uring ??= (name === "node" ? bindNodeUring : bindBunUring)(platformFor(runtime.os, runtime.arch)!, URING_SYSCALLS);
    const futex = (address: number, op: number, value: number) => raw.futex(address, op, value, null);
    return uringOffLoop(uring, sync, futex, raw.addressOf);
  };
  // The ring only on the main thread: a terminated Worker runs nothing at its end, so a ring of its own
  // (an io_uring and a pipe) would outlive it, 2-3 descriptors per Worker; a Worker's waits take the thread.
  const offLoop = raw.waitvNonblocking
    ? () => poolOffLoop(raw, sync)
    : () => (onMainThread() ? ring() : undefined) ?? workerOffLoop(raw, sync, thread);
  return waits = linuxWaitCalls(raw, sync, offLoop);
}

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
import { denoProcess } from "./process_deno.ts";
import { bunProcess } from "./process_bun.ts";
import { bindDenoWait } from "./deno.ts";
import { bindBunWait } from "./bun.ts";
import type { LinuxSync } from "./platforms.ts";
import { linuxWaitCalls, poolOffLoop, type RawWait, type WaitCalls, workerOffLoop } from "./wait.ts";

/** Why libc could not be loaded; thrown by every call that needs it. */
export class UnsupportedPlatformError extends Error {
  /** Made by the library; `message` says what is missing and what would work. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnsupportedPlatformError";
  }
}

interface Runtime {
  readonly name: "deno" | "bun";
  readonly os: string;
  readonly arch: string;
  /** Opens libc: the one symbol table of this runtime. */
  bind(platform: Platform): RawLibc;
  /** This runtime's exit events, signal listeners and subprocesses. */
  process(): ProcessRuntime;
}

/** The runtime this code runs in, or undefined (Node.js, a browser). */
export function currentRuntime(): Runtime | undefined {
  const g = globalThis as { Deno?: { build: { os: string; arch: string } }; Bun?: unknown };
  if (g.Bun !== undefined) {
    const process = (globalThis as unknown as { process: { platform: string; arch: string } }).process;
    return { name: "bun", os: process.platform, arch: process.arch, bind: bindBun, process: bunProcess };
  }
  if (g.Deno !== undefined) {
    return { name: "deno", os: g.Deno.build.os, arch: g.Deno.build.arch, bind: bindDeno, process: denoProcess };
  }
  return undefined;
}

/** This runtime, or a clear error. */
function supportedRuntime(): Runtime {
  const runtime = currentRuntime();
  if (!runtime) {
    throw new UnsupportedPlatformError("shared memory needs Deno (with --allow-ffi) or Bun; this runtime is neither");
  }
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
    const hint = denied ? ": run Deno with --allow-ffi" : "";
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

/** The pipe and signal calls of cleanup at exit, from the same binding as `libc()`. Never for `src/`. */
export function systemCalls(): SystemCalls {
  if (calls) return calls;
  const { raw, platform } = bind();
  return calls = posixSystemCalls(raw, platform);
}

let chosenProcess: ProcessRuntime | undefined;

/** This runtime's process (exit events, signals, subprocesses), made on first use. Never for `src/`. */
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
    const raw = runtime.name === "deno" ? bindDenoWait(platform, sync) : bindBunWait(platform, sync);
    return boundWait = { raw, sync };
  } catch (cause) {
    const denied = cause instanceof Error && (cause.name === "NotCapable" || cause.name === "PermissionDenied");
    throw new UnsupportedPlatformError(
      `could not load the wait calls in ${runtime.name}${denied ? ": run Deno with --allow-ffi" : ""}`,
      {
        cause,
      },
    );
  }
}

/** The raw wait binding, for the wait thread (`wait_thread.ts`). Never for `src/`. */
export function rawWaitBinding(): RawWait {
  return bindWait().raw;
}

let waits: WaitCalls | undefined;

/** Waiting and waking across processes, and the robust mutex (issue 14), loaded on first use. */
export function waitCalls(): WaitCalls {
  if (waits) return waits;
  const { raw, sync } = bindWait();
  // Deno runs a blocking call on its pool of threads; Bun (and Node.js) need a Worker for it.
  const offLoop = raw.waitvNonblocking ? () => poolOffLoop(raw, sync) : () => workerOffLoop(raw, sync);
  return waits = linuxWaitCalls(raw, sync, offLoop);
}

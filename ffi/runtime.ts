/**
 * The one place that asks which runtime this is. Loading is lazy: importing the library never fails,
 * and on an unsupported runtime or platform the first call that needs libc throws a clear error.
 */
import type { Libc, RawLibc } from "./libc.ts";
import { type Platform, platformFor } from "./platforms.ts";
import { posixLibc } from "./posix.ts";
import { bindDeno } from "./deno.ts";
import { bindBun } from "./bun.ts";

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
  bind(platform: Platform): RawLibc;
}

/** The runtime this code runs in, or undefined (Node.js, a browser). */
export function currentRuntime(): Runtime | undefined {
  const g = globalThis as { Deno?: { build: { os: string; arch: string } }; Bun?: unknown };
  if (g.Bun !== undefined) {
    const process = (globalThis as unknown as { process: { platform: string; arch: string } }).process;
    return { name: "bun", os: process.platform, arch: process.arch, bind: bindBun };
  }
  if (g.Deno !== undefined) return { name: "deno", os: g.Deno.build.os, arch: g.Deno.build.arch, bind: bindDeno };
  return undefined;
}

let loaded: Libc | undefined;

/** libc for this runtime and platform, loaded on first use. */
export function libc(): Libc {
  if (loaded) return loaded;
  const runtime = currentRuntime();
  if (!runtime) {
    throw new UnsupportedPlatformError("shared memory needs Deno (with --allow-ffi) or Bun; this runtime is neither");
  }
  const platform = platformFor(runtime.os, runtime.arch);
  if (!platform) {
    throw new UnsupportedPlatformError(
      `POSIX shared memory is not available on ${runtime.os}-${runtime.arch}: Linux and macOS on x86-64 or arm64 are supported`,
    );
  }
  let raw: RawLibc;
  try {
    raw = runtime.bind(platform);
  } catch (cause) {
    const denied = cause instanceof Error && (cause.name === "NotCapable" || cause.name === "PermissionDenied");
    const hint = denied ? ": run Deno with --allow-ffi" : "";
    throw new UnsupportedPlatformError(
      `could not load libc (${[...new Set(platform.libraries.map((l) => l.libc))].join(", ")}) in ${runtime.name}${hint}`,
      { cause },
    );
  }
  return loaded = posixLibc(raw, platform);
}

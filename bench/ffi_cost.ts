/**
 * Benchmark 5: the cost of one FFI call, straight through each runtime's FFI (not through the
 * library): `getpid` (a real system call) and `abs` (no system call: the FFI's own cost).
 */
import type { Config } from "./config.ts";
import { emit, IMPL, log, microPolicy, time } from "./harness.ts";

/** The C library of each OS. */
const LIBC: Record<string, string> = { linux: "libc.so.6", darwin: "libSystem.B.dylib" };

interface Calls {
  getpid(): number;
  abs(value: number): number;
}

/** `node:ffi`, declared rather than imported so that `deno check` passes. */
interface NodeFfi {
  dlopen(
    path: string,
    symbols: Record<string, { arguments: string[]; return: string }>,
  ): { functions: Calls };
}

/** `bun:ffi`, declared rather than imported so that `deno check` passes. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Calls };
}

function open(os: string): Calls {
  const path = LIBC[os];
  if (!path) throw new Error(`no libc known for ${os}`);
  if (IMPL === "bun") {
    const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
    return ffi.dlopen(path, {
      getpid: { args: [], returns: "i32" }, // pid_t getpid(void)
      abs: { args: ["i32"], returns: "i32" }, // int abs(int)
    }).symbols;
  }
  if (IMPL === "node") {
    const process = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process;
    const ffi = process.getBuiltinModule("node:ffi") as NodeFfi;
    // As the library does (ffi/node.ts withoutFastApiCalls): TurboFan's fast node:ffi calls abort now and then.
    (process.getBuiltinModule("node:v8") as { setFlagsFromString(flags: string): void })
      .setFlagsFromString("--no-turbo-fast-api-calls");
    return ffi.dlopen(path, {
      getpid: { arguments: [], return: "int32" }, // pid_t getpid(void)
      abs: { arguments: ["int32"], return: "int32" }, // int abs(int)
    }).functions;
  }
  return Deno.dlopen(path, {
    getpid: { parameters: [], result: "i32" }, // pid_t getpid(void)
    abs: { parameters: ["i32"], result: "i32" }, // int abs(int)
  }).symbols;
}

export async function run(config: Config): Promise<void> {
  const os = IMPL === "deno"
    ? Deno.build.os
    : (globalThis as unknown as { process: { platform: string } }).process.platform;
  const calls = open(os);
  let sink = 0;
  log("getpid");
  const getpid = await time(() => sink = calls.getpid(), microPolicy(config));
  emit({ bench: "ffi", op: "getpid", impl: IMPL, unit: "call", ...getpid });
  log("abs");
  const abs = await time(() => sink = calls.abs(-7), microPolicy(config));
  emit({ bench: "ffi", op: "abs", impl: IMPL, unit: "call", ...abs });
  if (sink !== 7) throw new Error("abs(-7) is not 7");
}

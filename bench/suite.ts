/**
 * Runs one benchmark in this runtime and prints its results as JSON lines:
 *
 *   deno run -A --v8-flags=--expose-gc bench/suite.ts <benchmark> key=value...
 *   bun run bench/suite.ts <benchmark> key=value...
 *   node --experimental-ffi --disable-warning=ExperimentalWarning --expose-gc bench/suite.ts <benchmark> key=value...
 *
 * The orchestrator (bench/main.ts) calls this once per benchmark and runtime, with the arguments of
 * bench/config.ts, so one failing benchmark cannot take the others down.
 */
import process from "node:process";
import { parseConfigArgs } from "./config.ts";
import type { Config } from "./config.ts";

/** Each benchmark's module; every one exports `run(config)`. */
const BENCHMARKS: Record<string, () => Promise<{ run(config: Config): Promise<void> }>> = {
  lifecycle: () => import("./lifecycle.ts"),
  memory: () => import("./memory.ts"),
  handoff: () => import("./handoff.ts"),
  list: () => import("./list.ts"),
  ffi: () => import("./ffi_cost.ts"),
  sync: () => import("./sync.ts"),
  channel: () => import("./channel.ts"),
};

const [benchmark, ...args] = process.argv.slice(2);
const load = BENCHMARKS[benchmark];
if (!load) {
  process.stderr.write(`usage: suite.ts <${Object.keys(BENCHMARKS).join("|")}> key=value...\n`);
  process.exit(2);
}
await (await load()).run(parseConfigArgs(args));

/**
 * The one-CPU futex ping-pong of issue 14 (`pingpong/one-cpu`, no variant), C and the runtimes measured in turn:
 *
 *   deno run -A bench/sync_alternate.ts [rounds=3] [cpython=1]
 *
 * Each round runs C's row (`bench/build/baseline sync`, built as bench/main.ts builds it, the row taken from its
 * output), then Deno's, Bun's and Node's (bench/sync.ts's `pingPong`, the same children, protocol and samples
 * as in the full run), and CPython's `multiprocessing.Pipe` row with `cpython=1` (`bench/cpython.py sync`, 40 s a
 * round). It prints each round's medians and ratios, then the median of each runtime's per-round ratios.
 *
 * Why: the full run measures C's section minutes before the runtimes', and on this VM a one-CPU round trip moves
 * with whatever else runs on that CPU (C 2.1 us alone, 4.2-5.9 us beside another helper's processes pinned there;
 * the runtimes lose more than C then, Node up to 2.5x). A ratio of two such moments said Bun 1.35x where rounds in
 * turn say 1.03-1.10x. Measured alike: every implementation runs its row whole, as in the full run; only the order
 * alternates. Hold the benchmark lock: `flock /tmp/shm-bench.lock deno run -A bench/sync_alternate.ts`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { configArgs, CONFIGS } from "./config.ts";
import type { Result } from "./harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BENCH = `${ROOT}bench/`;
const BASELINE = `${BENCH}build/baseline`;
const config = CONFIGS.full;

if (process.argv[2] === "row") {
  // A child: this runtime's row, one JSON line on stdout.
  const { pingPong } = await import("./sync.ts");
  await pingPong(config, "one-cpu", "sync");
  process.exit(0);
}

function tool(name: string): string {
  const pinned = `${ROOT}tools/runtimes/node_modules/.bin/${name}`;
  return existsSync(pinned) ? pinned : name;
}

/** Runs `argv` to its end: its stdout (its stderr shown). */
function run(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"], cwd: ROOT });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
    child.on("error", reject);
    child.on("exit", (code) => code === 0 ? resolve(out) : reject(new Error(`${argv.join(" ")} exited with ${code}`)));
  });
}

/** The one-CPU row without a variant from JSON lines. */
function rowOf(out: string): Result {
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const result = JSON.parse(line) as Result;
    if (result.bench === "sync" && result.op === "pingpong/one-cpu" && result.variant === undefined) return result;
  }
  throw new Error(`no pingpong/one-cpu row in:\n${out}`);
}

const options = new Map(process.argv.slice(2).map((arg) => arg.split("=", 2) as [string, string]));
const rounds = Number(options.get("rounds") ?? 3);
const withPython = options.get("cpython") === "1";
const args = configArgs(config);
const self = `${BENCH}sync_alternate.ts`;
const commands: Record<string, string[]> = {
  c: [BASELINE, "sync", ...args],
  ...(withPython ? { cpython: [process.env.PYTHON ?? "python3", `${BENCH}cpython.py`, "sync", ...args] } : {}),
  deno: [tool("deno"), "run", "--allow-all", "--v8-flags=--expose-gc", self, "row"],
  bun: [tool("bun"), "run", self, "row"],
  node: [tool("node"), "--experimental-ffi", "--disable-warning=ExperimentalWarning", "--expose-gc", self, "row"],
};

mkdirSync(`${BENCH}build`, { recursive: true });
await run([process.env.CC ?? "cc", "-O3", "-pthread", "-o", BASELINE, `${BENCH}baseline.c`, "-lrt"]);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[(values.length - 1) >> 1];
const ratios: Record<string, number[]> = {};
for (let round = 1; round <= rounds; round++) {
  const p50: Record<string, number> = {};
  for (const [impl, argv] of Object.entries(commands)) p50[impl] = rowOf(await run(argv)).p50;
  const cells = Object.entries(p50).map(([impl, ns]) => {
    if (impl === "c") return `C ${(ns / 1000).toFixed(2)} us`;
    (ratios[impl] ??= []).push(ns / p50.c);
    const versusPython = p50.cpython && impl !== "cpython"
      ? `, ${(p50.cpython / ns).toFixed(2)}x faster than Pipe`
      : "";
    return `${impl} ${(ns / 1000).toFixed(2)} us (${(ns / p50.c).toFixed(3)}x C${versusPython})`;
  });
  // The load average says whether the machine was quiet (a one-CPU round trip is not, beside other work).
  const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  console.log(`round ${round} (load ${load}): ${cells.join("; ")}`);
}
for (const [impl, values] of Object.entries(ratios)) {
  console.log(
    `${impl}: median ${median(values).toFixed(3)}x C over ${values.length} rounds (${
      values.map((v) => v.toFixed(3)).join(", ")
    })`,
  );
}

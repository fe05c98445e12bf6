/**
 * Every benchmark, in every implementation, and the report:
 *
 *   deno run -A bench/main.ts            the full run (under 10 minutes on 2 cores): bench/RESULTS.md
 *   deno run -A bench/main.ts --quick    a check that every benchmark runs (under a minute):
 *                                        bench/build/RESULTS.quick.md; exits 1 if any benchmark fails
 *   deno run -A bench/main.ts --render   writes the report again from the last full run's
 *                                        bench/build/results.json (after editing report.ts)
 *
 * It compiles bench/baseline.c with `cc`, then runs each benchmark in a fresh process of C, CPython
 * (bench/cpython.py), Deno, Bun and Node (bench/suite.ts) with the sizes of bench/config.ts, collects
 * their JSON lines, checks /dev/shm for leftover `shmbench_` segments, and writes the tables. Deno, Bun
 * and Node are the pinned ones in tools/runtimes when present.
 */
import { existsSync } from "node:fs";
import { type Config, configArgs, CONFIGS } from "./config.ts";
import type { Impl, Result } from "./harness.ts";
import { describeMachine, readText } from "./machine.ts";
import { type Failure, type InTurn, inTurnKey, renderReport, type RunInfo } from "./report.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BENCH = `${ROOT}bench/`;
const BUILD = `${BENCH}build/`;

const quick = Deno.args.includes("--quick");
const renderOnly = Deno.args.includes("--render");
const unknown = Deno.args.filter((arg) => arg !== "--quick" && arg !== "--render");
if (unknown.length > 0 || (quick && renderOnly)) {
  console.error(`usage: deno run -A bench/main.ts [--quick | --render]   (unknown: ${unknown.join(" ")})`);
  Deno.exit(2);
}
const config: Config = CONFIGS[quick ? "quick" : "full"];

/** How many rounds of the rows in turn follow the benchmarks (roundsInTurn), and which rows. */
const IN_TURN_ROUNDS = 3;
/**
 * Each row's benchmark, the SHM_BENCH_ROWS value that runs it alone there, its op (IN_TURN_KEYS in
 * report.ts), and by whom: CPython's multiprocessing.Pipe joins the ping-pong (the 3x target's other
 * side); its Queue, 30 s a row, stays in section 7.
 */
const IN_TURN_ROWS: { bench: string; rows: string; op: string; impls: Impl[] }[] = [
  { bench: "sync", rows: "pingpong-one-cpu", op: "pingpong/one-cpu", impls: ["c", "cpython", "deno", "bun", "node"] },
  { bench: "channel", rows: "oneway64-reused", op: "oneway64", impls: ["c", "deno", "bun", "node"] },
];

/** The benchmarks, in the order they run and are reported, and who implements each. */
const BENCHMARKS: { name: string; impls: Impl[] }[] = [
  { name: "lifecycle", impls: ["c", "cpython", "deno", "bun", "node"] },
  { name: "memory", impls: ["c", "cpython", "deno", "bun", "node"] },
  { name: "handoff", impls: ["c", "cpython", "deno", "bun", "node"] },
  { name: "list", impls: ["cpython", "deno", "bun", "node"] },
  { name: "ffi", impls: ["c", "cpython", "deno", "bun", "node"] },
  { name: "sync", impls: ["c", "cpython", "deno", "bun", "node"] },
  { name: "channel", impls: ["c", "cpython", "deno", "bun", "node"] },
];

/** One benchmark process may take this long before it is killed and counted as failed. */
const TIMEOUT_MS = quick ? 60_000 : 240_000;

function tool(name: string): string {
  const pinned = `${ROOT}tools/runtimes/node_modules/.bin/${name}`;
  return existsSync(pinned) ? pinned : name;
}

const DENO = tool("deno");
const BUN = tool("bun");
const NODE = tool("node");
/** node:ffi without its ExperimentalWarning line (--experimental-ffi is needed before Node 26.9), and gc() for mitata. */
const NODE_FLAGS = ["--experimental-ffi", "--disable-warning=ExperimentalWarning", "--expose-gc"];
const PYTHON = Deno.env.get("PYTHON") ?? "python3";
const CC = Deno.env.get("CC") ?? "cc";
const BASELINE = `${BUILD}baseline`;
/** -O3 so that C's loops are vectorised: the C rows of section 2 are then the memory system's limit. */
const CFLAGS = ["-O3", "-pthread"];

function command(impl: Impl, benchmark: string): string[] {
  const args = [benchmark, ...configArgs(config)];
  switch (impl) {
    case "c":
      return [BASELINE, ...args];
    case "cpython":
      return [PYTHON, `${BENCH}cpython.py`, ...args];
    case "deno":
      return [DENO, "run", "--allow-all", "--v8-flags=--expose-gc", `${BENCH}suite.ts`, ...args];
    case "bun":
      return [BUN, "run", `${BENCH}suite.ts`, ...args];
    case "node":
      return [NODE, ...NODE_FLAGS, `${BENCH}suite.ts`, ...args];
  }
}

/** The JSON lines of a benchmark's stdout, as objects; each line that does not parse goes to `unreadable`. */
function outputRecords(stdout: string, unreadable: (message: string) => void): (Result & { skipped?: string })[] {
  const records: (Result & { skipped?: string })[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      unreadable(`unreadable output line: ${line.slice(0, 200)}`);
    }
  }
  return records;
}

/** Runs a command to its end; stdout is returned, stderr is shown as it comes and its tail kept. */
async function runProcess(argv: string[], timeoutMs: number, env?: Record<string, string>) {
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped", cwd: ROOT, env })
    .spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGTERM");
      setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 3000);
    } catch { /* already gone */ }
  }, timeoutMs);
  let tail = "";
  const stderr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      await Deno.stderr.write(chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-3000);
    }
  })();
  const stdout = new Response(child.stdout).text();
  const [status, out] = await Promise.all([child.status, stdout, stderr]);
  clearTimeout(timer);
  return { code: status.code, signal: status.signal, timedOut, stdout: out, stderrTail: tail };
}

/**
 * CPU time of the whole machine and of this process tree, from /proc: the difference tells how much
 * other processes ran during a benchmark (they share the 2 cores with it).
 */
function cpuSnapshot(): { busy: number; steal: number; ours: number; at: number } {
  const stat = readText("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = user + nice + system + irq + softirq
  const busy = (stat[0] ?? 0) + (stat[1] ?? 0) + (stat[2] ?? 0) + (stat[5] ?? 0) + (stat[6] ?? 0);
  const self = readText("/proc/self/stat");
  const fields = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number);
  // after the name: state(0) ppid ... utime(11) stime(12) cutime(13) cstime(14)
  const ours = fields[11] + fields[12] + fields[13] + fields[14];
  return { busy, steal: stat[7] ?? 0, ours, at: performance.now() };
}

const TICKS_PER_SECOND = 100;

/** Other processes' CPU use between two snapshots, in cores (1 = one core busy all the time). */
function othersCores(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  const others = Math.max(0, (after.busy - before.busy) - (after.ours - before.ours)) / TICKS_PER_SECOND;
  return others / seconds;
}

/** FIFO folders of the handoff benchmark that a killed process left in the temporary folder. */
function leftoverFolders(): string[] {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  try {
    return [...Deno.readDirSync(tmp)].filter((entry) => entry.name.startsWith("shmbench_")).map((e) =>
      `${tmp}/${e.name}`
    );
  } catch {
    return [];
  }
}

function leftoverSegments(): string[] {
  try {
    return [...Deno.readDirSync("/dev/shm")].map((entry) => entry.name).filter((name) => name.startsWith("shmbench_"));
  } catch {
    return [];
  }
}

async function main(): Promise<number> {
  Deno.mkdirSync(BUILD, { recursive: true });
  const started = new Date();
  const runStart = cpuSnapshot();
  const results: Result[] = [];
  const failures: Failure[] = [];
  const skipped: { bench: string; impl: Impl; reason: string }[] = [];
  const contention: RunInfo["contention"] = [];

  console.error(`bench: compiling bench/baseline.c`);
  const compiled = await runProcess([CC, ...CFLAGS, "-o", BASELINE, `${BENCH}baseline.c`, "-lrt"], 60_000);
  if (compiled.code !== 0) failures.push({ bench: "all", impl: "c", message: `cc failed: ${compiled.stderrTail}` });

  const before = new Set(leftoverSegments());
  const foldersBefore = new Set(leftoverFolders());
  for (const { name, impls } of BENCHMARKS) {
    for (const impl of impls) {
      if (impl === "c" && compiled.code !== 0) continue;
      console.error(`bench: ${name} in ${impl}`);
      const start = cpuSnapshot();
      const run = await runProcess(command(impl, name), TIMEOUT_MS);
      const end = cpuSnapshot();
      contention.push({ bench: name, impl, seconds: (end.at - start.at) / 1000, otherCores: othersCores(start, end) });
      let produced = 0;
      for (const record of outputRecords(run.stdout, (line) => failures.push({ bench: name, impl, message: line }))) {
        if (record.skipped) skipped.push({ bench: name, impl, reason: record.skipped });
        else results.push(record);
        produced++;
      }
      if (run.code !== 0 || produced === 0) {
        const why = run.timedOut
          ? `timed out after ${TIMEOUT_MS / 1000} s`
          : run.code !== 0
          ? `exited with ${run.signal ?? run.code}`
          : "produced no results";
        failures.push({
          bench: name,
          impl,
          message: `${why}\n${run.stderrTail.trim().split("\n").slice(-15).join("\n")}`,
        });
        console.error(`bench: FAILED ${name} in ${impl}: ${why}`);
      }
    }
  }

  const inTurn = await roundsInTurn(compiled.code === 0, failures);

  const leaked = leftoverSegments().filter((name) => !before.has(name));
  for (const name of leaked) {
    failures.push({ bench: "cleanup", impl: name.split("_")[1] as Impl, message: `left /dev/shm/${name} behind` });
    try {
      Deno.removeSync(`/dev/shm/${name}`);
    } catch { /* gone meanwhile */ }
  }

  for (const folder of leftoverFolders().filter((folder) => !foldersBefore.has(folder))) {
    Deno.removeSync(folder, { recursive: true });
  }

  const runEnd = cpuSnapshot();
  const info: RunInfo = {
    mode: quick ? "quick" : "full",
    started: started.toISOString(),
    seconds: (runEnd.at - runStart.at) / 1000,
    otherCores: othersCores(runStart, runEnd),
    stealSeconds: (runEnd.steal - runStart.steal) / TICKS_PER_SECOND,
    contention,
    config,
    inTurn,
  };
  const host = machine();
  const report = renderReport({ results, failures, skipped, machine: host, info });
  const raw = JSON.stringify({ info, results, failures, skipped, machine: host }, null, 1);
  const suffix = quick ? ".quick" : "";
  Deno.writeTextFileSync(`${BUILD}results${suffix}.json`, raw + "\n");
  const reportPath = quick ? `${BUILD}RESULTS.quick.md` : `${BENCH}RESULTS.md`;
  Deno.writeTextFileSync(reportPath, report);
  console.error(`bench: wrote ${reportPath.slice(ROOT.length)} in ${info.seconds.toFixed(0)} s`);
  if (failures.length > 0) {
    console.error(`bench: ${failures.length} failure(s):`);
    for (const failure of failures) {
      console.error(`  ${failure.bench} in ${failure.impl}: ${failure.message.split("\n")[0]}`);
    }
    return 1;
  }
  return 0;
}

/**
 * Rows of C and of each runtime once more, in turn, IN_TURN_ROUNDS times: the same rows as in their
 * sections (`SHM_BENCH_ROWS` makes baseline.c and the suite run one alone), taken minutes apart there.
 * On this VM both move with the moment, not with the runtime: a one-CPU round trip with whatever else
 * runs on that CPU (C 2.1 us alone, 4.2-5.9 us beside other work, the runtimes losing more than C
 * then), and 64-byte messages between two pinned CPUs with where the host runs those two vCPUs (C's
 * ring 16, 75 or 265 ns a message, each for tens of seconds at a time, every runtime with it:
 * docs/runtime-facts.md). Rows measured minutes apart compare the moments more than the runtimes;
 * rounds in turn compare the runtimes. The p50 of each round, by row (`bench:op`) and implementation
 * (the report divides each by C's of its round).
 */
async function roundsInTurn(haveC: boolean, failures: Failure[]): Promise<InTurn> {
  const inTurn: InTurn = {};
  if (!haveC) return inTurn;
  for (let round = 1; round <= (quick ? 1 : IN_TURN_ROUNDS); round++) {
    for (const { bench, rows, op, impls } of IN_TURN_ROWS) {
      const p50: Partial<Record<Impl, number>> = {};
      for (const impl of impls) {
        console.error(`bench: ${bench} ${op} in turn, round ${round}, ${impl}`);
        const run = await runProcess(command(impl, bench), TIMEOUT_MS, { SHM_BENCH_ROWS: rows });
        const records = outputRecords(
          run.stdout,
          (line) => failures.push({ bench: `${bench}-in-turn`, impl, message: line }),
        );
        const row = records.find((result) => result.op === op && result.variant === undefined);
        if (run.code !== 0 || !row) {
          failures.push({
            bench: `${bench}-in-turn`,
            impl,
            message: `no ${op} row (exit ${run.signal ?? run.code}): ${run.stderrTail}`,
          });
          continue;
        }
        p50[impl] = row.p50;
      }
      (inTurn[inTurnKey(bench, op)] ??= []).push(p50);
    }
  }
  return inTurn;
}

function machine() {
  return describeMachine({ root: ROOT, deno: DENO, bun: BUN, node: NODE, python: PYTHON, cc: CC, cflags: CFLAGS });
}

/** The report of the last full run, written again from its saved results. */
function render(): number {
  const saved = JSON.parse(Deno.readTextFileSync(`${BUILD}results.json`));
  Deno.writeTextFileSync(`${BENCH}RESULTS.md`, renderReport({ ...saved, machine: saved.machine ?? machine() }));
  console.error(`bench: wrote bench/RESULTS.md from bench/build/results.json`);
  return 0;
}

Deno.exit(renderOnly ? render() : await main());

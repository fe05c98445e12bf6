/**
 * One side of the ping-pong benchmark (bench/sync.ts starts two, each under `taskset`):
 *
 *   sync_child.ts ping|pong NAME SAMPLES BATCH sync|timed|async|async-one|spin WARMUP_MS
 *
 * Word 0 of segment NAME counts turns: ping moves on even, pong on odd; each moves it on by one and
 * notifies. `ping` warms up for WARMUP_MS (at least one batch; bench/sync.ts gives 1000, 0 with
 * --quick), writes the turn timing starts at into word 1 (pong reads the end from it), then times
 * SAMPLES batches of BATCH round trips and prints their durations (ns) as JSON. The warm-up is for the
 * JIT: on one CPU the first 15,000 round trips or so run 1.5-4x slower than the rest (the compiler's
 * threads share that CPU), which a fixed short warm-up measured instead of the steady state.
 *
 * Modes, each as bench/baseline.c's `play` does: `sync` sleeps with no time limit (`futex.wait(word, 0,
 * turn)`), `timed` with a 10 s limit, `async` awaits `futex.waitAsync` on both sides, `async-one` on
 * ping's side only (pong sleeps as in `sync`: an event loop waiting for a blocking worker process),
 * `spin` runs the library's adaptive spin before each sleep (skipped with one usable CPU).
 */
import process from "node:process";
import { futex, SharedMemory } from "../mod.ts";
import { Spinner } from "../src/sync/internal.ts";
import { now } from "./harness.ts";

const [role, name, samplesArg, batchArg, mode, warmupArg] = process.argv.slice(2);
const WARMUP_MS = Number(warmupArg ?? 1000);
const samples = Number(samplesArg);
const batch = Number(batchArg);
const shm = new SharedMemory({ name });
const word = new Int32Array(shm.buf.buffer, 0, 2);
const TURN = 0;
const START = 1;
const mine = role === "ping" ? 0 : 1;
const spinner = new Spinner();

/** No turn reaches it: the end while warming up (a small integer, as the real end is). */
const NEVER = 2 ** 30;

/** The turn that ends the run (the sum made while warming up too, for the same reason as below). */
function endTurn(): number {
  const start = Atomics.load(word, START);
  const end = start + 2 * batch * samples;
  return start === 0 ? NEVER : end;
}

/** Waits until it is this side's turn (or the end), blocking: the turn. No `await` (a microtask per turn
 * that C's loop does not have). */
function myTurn(): number {
  let turn = Atomics.load(word, TURN);
  while ((turn & 1) !== mine && turn < endTurn()) {
    if (mode === "spin" && spinner.spin(() => Atomics.load(word, TURN) !== turn)) {
      turn = Atomics.load(word, TURN);
      continue;
    }
    if (mode === "timed") futex.wait(word, TURN, turn, 10_000);
    else futex.wait(word, TURN, turn);
    turn = Atomics.load(word, TURN);
  }
  return turn;
}

/** The same with the event loop free. */
async function myTurnAsync(): Promise<number> {
  let turn = Atomics.load(word, TURN);
  while ((turn & 1) !== mine && turn < endTurn()) {
    await futex.waitAsync(word, TURN, turn);
    turn = Atomics.load(word, TURN);
  }
  return turn;
}

const waitsAsync = mode === "async" || (mode === "async-one" && role === "ping");
// Every batch's duration, the warm-up's too: each call of the loop runs before timing starts (a first call
// from optimized code sends V8 back to its interpreter for a while: 4 slow batches, in Deno).
const durations: number[] = [];
let warmBatches = 0;
const begin = now();
let t0 = begin;
for (;;) {
  const turn = waitsAsync ? await myTurnAsync() : myTurn();
  if (role === "ping" && turn % (2 * batch) === 0 && turn > 0) {
    const t = now();
    durations.push(t - t0);
    t0 = t;
    const start = Atomics.load(word, START);
    if (start === 0) warmBatches = durations.length;
    Atomics.store(word, START, start !== 0 || t - begin < WARMUP_MS * 1e6 ? start : turn);
  }
  if (turn >= endTurn()) break;
  Atomics.store(word, TURN, turn + 1);
  futex.notify(word, TURN);
}
if (role === "ping") process.stdout.write(JSON.stringify(durations.slice(warmBatches)) + "\n");
shm.close();

/**
 * One side of the ping-pong benchmark (bench/sync.ts starts two, each under `taskset`):
 *
 *   sync_child.ts ping|pong NAME SAMPLES BATCH sync|async|spin
 *
 * Word 0 of segment NAME counts turns: ping moves on even, pong on odd; each moves it on by one and
 * notifies. `ping` times SAMPLES batches of BATCH round trips and prints their durations (ns) as JSON.
 * `spin`: before each sleep, the library's adaptive spin (skipped with one usable CPU).
 */
import process from "node:process";
import { futex, SharedMemory } from "../mod.ts";
import { Spinner } from "../src/sync/internal.ts";
import { now } from "./harness.ts";

const [role, name, samplesArg, batchArg, mode] = process.argv.slice(2);
const samples = Number(samplesArg);
const batch = Number(batchArg);
const shm = new SharedMemory({ name });
const word = new Int32Array(shm.buf.buffer, 0, 1);
const mine = role === "ping" ? 0 : 1;
const end = 2 * batch * (samples + 1); // one batch of warm-up
const spinner = new Spinner();

/** Waits until it is this side's turn (or the end): the turn. */
async function myTurn(): Promise<number> {
  let turn = Atomics.load(word, 0);
  while (turn < end && (turn & 1) !== mine) {
    if (mode === "spin" && spinner.spin(() => Atomics.load(word, 0) !== turn)) {
      turn = Atomics.load(word, 0);
      continue;
    }
    if (mode === "async") await futex.waitAsync(word, 0, turn);
    else futex.wait(word, 0, turn, 10_000);
    turn = Atomics.load(word, 0);
  }
  return turn;
}

const durations: number[] = [];
let t0 = now();
for (;;) {
  const turn = await myTurn();
  if (turn >= end) break;
  if (role === "ping" && turn % (2 * batch) === 0) {
    const t = now();
    if (turn > 0) durations.push(t - t0);
    t0 = t;
  }
  Atomics.store(word, 0, turn + 1);
  futex.notify(word, 0);
}
if (role === "ping") {
  durations.push(now() - t0);
  process.stdout.write(JSON.stringify(durations.slice(1)) + "\n");
}
shm.close();

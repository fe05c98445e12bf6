/**
 * What the channel's ring pays for its words, alone (docs/runtime-facts.md, "Round trips between two
 * processes"): `Atomics.load` and `Atomics.store` against plain typed-array loads and stores, on a
 * segment's mapping and on a SharedArrayBuffer, and one membarrier fence (src/sync/fence.ts):
 *
 *   deno run --allow-all bench/atomics.ts
 *   bun run bench/atomics.ts
 *   node --experimental-ffi --disable-warning=ExperimentalWarning bench/atomics.ts
 *
 * Pin it (`taskset -c 1 ...`) for steadier numbers. Each line is the last of three rounds, in ns per
 * operation, loop included.
 */
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { waitCalls } from "../ffi/runtime.ts";

const N = 20_000_000;

/** Runs `body(n)` three times and prints the last round's time per operation. */
function measure(label: string, n: number, body: (n: number) => number): void {
  let ns = 0;
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    sink += body(n);
    ns = (performance.now() - t0) * 1e6 / n;
  }
  console.log(`${label.padEnd(44)} ${ns.toFixed(2).padStart(8)} ns${sink === 0.5 ? " " : ""}`);
}

function rows(where: string, words: Int32Array): void {
  measure(`${where}: Atomics.load`, N, (n) => {
    let x = 0;
    for (let i = 0; i < n; i++) x += Atomics.load(words, 17);
    return x;
  });
  measure(`${where}: plain load`, N, (n) => {
    let x = 0;
    for (let i = 0; i < n; i++) x += words[17 + (i & 1)];
    return x;
  });
  measure(`${where}: Atomics.store`, N, (n) => {
    for (let i = 0; i < n; i++) Atomics.store(words, 16, i);
    return words[16];
  });
  measure(`${where}: plain store`, N, (n) => {
    for (let i = 0; i < n; i++) words[16 + (i & 1)] = i;
    return words[16];
  });
}

using shm = SharedMemory.create({ size: 4096 });
rows("segment", new Int32Array(shm.buf.buffer, shm.buf.byteOffset, 1024));
rows("SharedArrayBuffer", new Int32Array(new SharedArrayBuffer(4096)));
const { fence } = waitCalls();
if (fence.register()) {
  measure("membarrier(GLOBAL_EXPEDITED)", 100_000, (n) => {
    for (let i = 0; i < n; i++) fence.fenceOthers();
    return n;
  });
} else console.log(`membarrier: not available on ${process.platform} ${process.arch}`);

/**
 * Review 3: Deno runs a `nonblocking` FFI call on the same pool of threads as its own blocking work (file
 * reads among it), and that pool runs about 32 at once. Each group of up to 127 pending waitAsync holds
 * one of those threads (ffi/wait.ts poolOffLoop) for as long as the wait lasts. So with 32 groups or more
 * (4,064 pending waits) every file read of the program queues behind them (with each pool wait bounded to a
 * second, tried for a day: 800-990 ms a read). Bun and Node wait through io_uring or a thread of their
 * own. Known in Deno, and skipped there (docs/runtime-facts.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { THIS_RUNTIME } from "./helpers/processes.ts";
import { waitsOnEveryWord } from "./helpers/sync.ts";

const LONG = { timeout: 60_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a file read is not held up by 40 groups of pending waitAsync (5,080 waits)", {
  ...LONG,
  skip: THIS_RUNTIME === "deno"
    ? "Deno's pool, which its file reads share, runs about 32 waits at once (known)"
    : false,
}, async () => {
  await using _pending = waitsOnEveryWord("r3_share", 40 * 127);
  await sleep(1200);
  const took: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await Promise.race([readFile("/proc/self/stat"), sleep(5000)]);
    took.push(Math.round(performance.now() - start));
  }
  assert.ok(Math.max(...took) < 200, `three reads of a small file took ${took.join(", ")} ms`);
});

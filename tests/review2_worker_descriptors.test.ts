/**
 * A Worker that waits with futex.waitAsync and is then terminated leaves no descriptor behind: in Bun and
 * Node a Worker's waits take the wait thread, not an io_uring of its own (which nothing could close, since a
 * terminated Worker runs nothing at its end: 2-3 descriptors per Worker were left, found in review). Deno is
 * skipped: its pool thread, blocked in the wait, keeps the terminated Worker's epoll and eventfd open until
 * the wait ends (38 descriptors for 20 Workers); bounding each pool wait to a second fixed that but lost
 * notifies while the event loop was busy (docs/runtime-facts.md), so it was taken back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { startWorker } from "./helpers/worker.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";

const WORKER = new URL("./fixtures/waiting_worker.ts", import.meta.url);

test("20 terminated Workers that each left a waitAsync pending leave at most a few descriptors", {
  timeout: 120_000,
  skip: THIS_RUNTIME === "deno"
    ? "Deno's pool thread of a terminated Worker keeps its epoll and eventfd until the wait ends (known)"
    : false,
}, async () => {
  const one = async () => {
    const worker = startWorker(WORKER);
    assert.equal(await worker.next<string>(), "waiting");
    worker.terminate();
  };
  await one(); // the first may open what the process keeps (the runtime's own)
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = readdirSync("/proc/self/fd").length;
  for (let i = 0; i < 20; i++) await one();
  await new Promise((resolve) => setTimeout(resolve, 1500)); // terminated Workers' threads end within 1 s
  const after = readdirSync("/proc/self/fd").length;
  assert.ok(after - before <= 6, `descriptors: ${before} before, ${after} after 20 Workers`);
});

/**
 * A stopped or dead crash watcher never blocks its process: 20,000 tracked create/unlink cycles finish with the
 * watcher SIGSTOPped, the process stays killable, it warns once, and the watcher cleans up once resumed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import {
  alive,
  launch,
  signalIfAlive,
  TEST_TIMEOUT_MS,
  waitFor,
  waitUntilGone,
  watchersOf,
  within,
} from "./helpers/children.ts";
import { removeIfPresent } from "./helpers/segments.ts";

test("20,000 tracked cycles finish with the watcher stopped, the process stays killable, one warning", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const gofile = `${tmpdir()}/shmtest_stalled_${process.pid}_${Date.now()}`;
  const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_child.ts", ["cycles", "20000", gofile]));
  let name: string | undefined;
  let watcher: number | undefined;
  try {
    name = (await child.line<{ name: string }>(0)).name;
    assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), "no crash watcher");
    watcher = watchersOf(child.pid)[0];
    process.kill(watcher, "SIGSTOP");
    writeFileSync(gofile, "");
    const done = await child.line<{ done: number }>(1, 30_000);
    assert.equal(done.done, 20000);
    // Still killable, at once, by the signal.
    const sentAt = performance.now();
    child.kill("SIGTERM");
    const exit = await within(child.exited, 3000);
    assert.ok(exit, "the process did not die of SIGTERM");
    assert.equal(exit.signal, "SIGTERM");
    assert.ok(exit.at - sentAt < 500, `died ${Math.round(exit.at - sentAt)} ms after SIGTERM`);
    const stalls = child.stderr.split("\n").filter((line) => line.includes("not reading"));
    assert.equal(stalls.length, 1, child.stderr);
    // Resumed, the watcher reads what the pipe holds, sees the end, and removes the first segment.
    process.kill(watcher, "SIGCONT");
    assert.deepEqual(await waitUntilGone([name], 5000), [], child.stderr);
  } finally {
    child.stop();
    if (watcher) signalIfAlive(watcher, "SIGCONT");
    rmSync(gofile, { force: true });
    if (name) removeIfPresent(name);
  }
});

test("a killed watcher is replaced at the next tracked create, and hears every segment still tracked", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const gofile = `${tmpdir()}/shmtest_replaced_${process.pid}_${Date.now()}`;
  const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_child.ts", ["replaced", gofile]));
  const names: string[] = [];
  try {
    names.push((await child.line<{ name: string }>(0)).name);
    assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), "no crash watcher");
    const first = watchersOf(child.pid)[0];
    process.kill(first, "SIGKILL");
    assert.ok(await waitFor(() => !alive(first), 5000), "the watcher did not die");
    writeFileSync(gofile, "");
    names.push((await child.line<{ name: string }>(1)).name);
    assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), `no new watcher:\n${child.stderr}`);
    assert.notEqual(watchersOf(child.pid)[0], first);
    const stopped = child.stderr.split("\n").filter((line) => line.includes("the crash watcher has stopped"));
    assert.equal(stopped.length, 1, child.stderr);
    child.kill("SIGKILL");
    assert.deepEqual(await waitUntilGone(names, 5000), [], child.stderr);
  } finally {
    child.stop();
    rmSync(gofile, { force: true });
    names.forEach(removeIfPresent);
  }
});

/**
 * Cleanup removes only what this process made: when someone else unlinks a tracked name and creates
 * their own segment under it, that segment survives our exit and our SIGKILL.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SharedMemory } from "../mod.ts";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { alive, launch, TEST_TIMEOUT_MS, waitFor, watchersOf, within } from "./helpers/children.ts";
import { removeIfPresent, uniqueName } from "./helpers/segments.ts";

for (const ending of ["exit", "SIGKILL"] as const) {
  test(`a name someone else re-created survives our ${ending}`, { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = uniqueName("recreated");
    const gofile = `${tmpdir()}/shmtest_recreated_${process.pid}_${Date.now()}`;
    const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_child.ts", ["recreated", name, gofile]));
    try {
      await child.line(0);
      assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), "no crash watcher");
      const watcher = watchersOf(child.pid)[0];
      // Theirs: the same name, another segment.
      rmSync(`/dev/shm/${name}`);
      using theirs = new SharedMemory({ name, create: true, size: 32, track: false });
      theirs.buf[0] = 99;
      if (ending === "exit") writeFileSync(gofile, "");
      else child.kill("SIGKILL");
      const exit = await within(child.exited, 10_000);
      assert.ok(exit, "the child did not end");
      assert.equal(ending === "exit" ? exit.status : exit.signal, ending === "exit" ? 0 : "SIGKILL");
      // The watcher has seen the end and done its cleanup once it is gone.
      assert.ok(await waitFor(() => !alive(watcher), 5000), "the watcher did not end");
      using again = new SharedMemory(name);
      assert.equal(again.buf[0], 99, "our cleanup removed their segment");
      assert.equal(again.size, 32);
      again.unlink();
    } finally {
      child.stop();
      rmSync(gofile, { force: true });
      removeIfPresent(name);
    }
  });
}

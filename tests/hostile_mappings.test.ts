/**
 * Running out of mappings or address space: a collected handle gives its address space back (not only
 * its memory), an ENOMEM from mmap is met by a collection and one retry where the runtime allows, and
 * what is left is an error that names the limits and says to close() handles.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT, runOk, runtimePath, THIS_RUNTIME } from "./helpers/processes.ts";

function runFixture(fixture: string, args: string[], gc = false): Record<string, unknown> {
  const flags = THIS_RUNTIME === "deno" ? ["run", "--allow-all", ...(gc ? ["--v8-flags=--expose-gc"] : [])] : ["run"];
  return JSON.parse(runOk([runtimePath(THIS_RUNTIME), ...flags, `${ROOT}${fixture}`, ...args]));
}

test("3000 dropped handles of a 64 GiB segment (192 TiB, more than the address space) all attach", () => {
  // Without the address space back, attach fails after about 2,000 and keeps failing after a full GC.
  const result = runFixture("tests/fixtures/hostile_dropped_handles.ts", [String(64 * 2 ** 30), "3000"], true);
  assert.equal(result.attached, 3000);
  if (result.message !== undefined) {
    assert.match(String(result.message), /vm\.max_map_count.*ulimit -v.*close\(\)/);
  }
});

test("70,000 attaches in a synchronous loop: completed after a collection, or an ENOMEM that says what to do", () => {
  const result = runFixture("tests/fixtures/hostile_many_attaches.ts", []);
  if (THIS_RUNTIME === "bun") {
    assert.deepEqual(result, { attached: 70_000 }, "a collected Bun mapping unmaps itself, so the retry succeeds");
  } else {
    assert.equal(result.code, "ENOMEM");
    assert.ok(Number(result.attached) > 60_000, `attached ${result.attached}`);
    assert.match(
      String(result.message),
      /kernel's limit on mappings \(vm\.max_map_count\) or its address-space limit \(ulimit -v\)\. close\(\) handles/,
    );
  }
});

/**
 * Running out of mappings or address space: a collected handle gives its address space back (not only
 * its memory), an ENOMEM from mmap is met by a collection and one retry where the runtime allows, and
 * what is left is an error that names the limits and says to close() handles.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runOk, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

/** The fixture's command line in this runtime; with `gc`, the flag that lets it ask for a collection (Bun needs none). */
function fixtureCommand(fixture: string, args: string[], gc = false): string[] {
  const [runtime, ...rest] = scriptCommand(THIS_RUNTIME, fixture, args);
  if (!gc || THIS_RUNTIME === "bun") return [runtime, ...rest];
  // deno run --v8-flags=--expose-gc ...; node --expose-gc ...
  return THIS_RUNTIME === "deno"
    ? [runtime, rest[0], "--v8-flags=--expose-gc", ...rest.slice(1)]
    : [runtime, "--expose-gc", ...rest];
}

function runFixture(fixture: string, args: string[], gc = false): Record<string, unknown> {
  return JSON.parse(runOk(fixtureCommand(fixture, args, gc)));
}

test(
  "3000 dropped handles of a 64 GiB segment (192 TiB, more than the address space) all attach",
  { timeout: 60_000 },
  () => {
    // Without the address space back, attach fails after about 2,000 and keeps failing after a full GC.
    const result = runFixture("tests/fixtures/hostile_dropped_handles.ts", [String(64 * 2 ** 30), "3000"], true);
    assert.equal(result.attached, 3000);
    if (result.message !== undefined) {
      assert.match(String(result.message), /vm\.max_map_count.*ulimit -v.*close\(\)/);
    }
  },
);

if (THIS_RUNTIME === "bun") {
  // Deno cannot run this: its finalizers never run inside a synchronous loop, so the loop takes every
  // mapping the kernel allows, and V8 itself then dies (SIGTRAP) when it next needs one. The test below
  // shows Deno's error without exhausting the machine.
  test("Bun: 70,000 attaches in a synchronous loop, none closed, complete after a collection and a retry", {
    timeout: 60_000,
  }, () => {
    const result = runFixture("tests/fixtures/hostile_many_attaches.ts", []);
    assert.deepEqual(result, { attached: 70_000 }, "a collected Bun mapping unmaps itself, so the retry succeeds");
  });
}

test("an mmap refused under ulimit -v is an ENOMEM that names the limits and says to close() handles", {
  timeout: 60_000,
}, () => {
  const name = uniqueName("vlimit");
  // 64 GiB of address space (ulimit -v counts KiB): room for the runtime, not for a 256 GiB mapping
  const out = runOk([
    "sh",
    "-c",
    'ulimit -v 67108864 && exec "$@"',
    "sh",
    ...fixtureCommand("tests/fixtures/hostile_address_limit.ts", [name]),
  ]);
  const result = JSON.parse(out);
  assert.equal(result.code, "ENOMEM");
  assert.equal(result.syscall, "mmap");
  assert.match(result.message, /vm\.max_map_count\) or its address-space limit \(ulimit -v\)\. close\(\) handles/);
  assert.equal(result.left, false, "the half-made segment was removed");
  assert.equal(segmentExists(name), false);
});

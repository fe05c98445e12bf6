/** The `shm` command line lists, removes and sweeps real segments, and refuses bad names. */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { run, runOk, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import type { Survey } from "../cli/segments.ts";

const shm = (...args: string[]) => run(scriptCommand(THIS_RUNTIME, "cli/main.ts", args));

/** This user's name, from id(1). */
const USER = runOk(["id", "-un"]);

/** A segment that exists but that no process maps: created untracked, then closed. */
function unmapped(name: string): string {
  new SharedMemory({ name, create: true, size: 100, track: false }).close();
  return name;
}

test("list --json shows a segment's size, owner, age and the process that maps it", () => {
  using segment = new SharedMemory({ name: uniqueName("cli_list"), create: true, size: 5000 });
  const result = shm("list", "--json");
  assert.equal(result.status, 0, result.stderr);
  const found = (JSON.parse(result.stdout) as Survey).segments.find((s) => s.name === segment.name);
  assert.ok(found, `${segment.name} is not listed`);
  assert.equal(found.size, 5000);
  assert.equal(found.owner, USER);
  assert.equal(found.mode, 0o600);
  assert.ok(found.created <= Date.now());
  assert.ok(found.users.some((user) => user.pid === process.pid), JSON.stringify(found.users));
});

test("list prints one row per segment with its size and users", () => {
  using segment = new SharedMemory({ name: uniqueName("cli_table"), create: true, size: 4096 });
  const result = shm("list");
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^NAME +SIZE +OWNER +AGE +PROCESSES$/m);
  const row = result.stdout.split("\n").find((line) => line.startsWith(`${segment.name} `));
  assert.ok(row, `${segment.name} has no row`);
  assert.match(row, new RegExp(` 4 KiB +${USER} +\\S+ +.*\\b${process.pid} `));
});

test("rm removes segments by name", () => {
  const names = [unmapped(uniqueName("cli_rm")), unmapped(uniqueName("cli_rm"))];
  try {
    const result = shm("rm", ...names);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(names.filter(segmentExists), []);
    for (const name of names) assert.match(result.stdout, new RegExp(`^removed ${name}$`, "m"));
  } finally {
    names.forEach(removeIfPresent);
  }
});

for (const bad of ["", "a/b", ".", ".."]) {
  test(`rm refuses the name '${bad}' and then removes nothing at all`, () => {
    const good = unmapped(uniqueName("cli_refuse"));
    try {
      const result = shm("rm", good, bad);
      assert.equal(result.status, 2);
      assert.match(result.stderr, new RegExp(`refusing '${bad.replace(/\./g, "\\.")}'`));
      assert.ok(segmentExists(good));
    } finally {
      removeIfPresent(good);
    }
  });
}

test("rm of a name that does not exist fails with ENOENT", () => {
  const result = shm("rm", uniqueName("cli_missing"));
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no shared memory segment named .* \(ENOENT\)/);
});

test("sweep --dry-run names the unused segments and removes nothing", () => {
  const prefix = `${uniqueName("cli_dry")}_`;
  const unused = [unmapped(`${prefix}a`), unmapped(`${prefix}b`)];
  using inUse = new SharedMemory({ name: `${prefix}c`, create: true, size: 100 });
  try {
    const result = shm("sweep", "--dry-run", "--prefix", prefix);
    assert.equal(result.status, 0, result.stderr);
    for (const name of unused) assert.match(result.stdout, new RegExp(`^would remove ${name} `, "m"));
    assert.doesNotMatch(result.stdout, new RegExp(inUse.name));
    assert.match(result.stdout, /would remove 2 segments that no process uses; 1 in use kept/);
    assert.deepEqual([...unused, inUse.name].filter(segmentExists), [...unused, inUse.name]);
  } finally {
    unused.forEach(removeIfPresent);
  }
});

test("sweep removes the segments no process uses and keeps the one this process maps", () => {
  const prefix = `${uniqueName("cli_sweep")}_`;
  const unused = [unmapped(`${prefix}a`), unmapped(`${prefix}b`)];
  using inUse = new SharedMemory({ name: `${prefix}c`, create: true, size: 100 });
  try {
    const result = shm("sweep", `--prefix=${prefix}`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(unused.filter(segmentExists), []);
    assert.ok(segmentExists(inUse.name));
    assert.match(result.stdout, /removed 2 segments that no process uses; 1 in use kept/);
  } finally {
    unused.forEach(removeIfPresent);
  }
});

test("an unknown command or option is a usage error", () => {
  for (const args of [["frobnicate"], ["list", "--force"], ["sweep", "--prefix"]]) {
    const result = shm(...args);
    assert.equal(result.status, 2, args.join(" "));
    assert.match(result.stderr, /^shm: .*\n\nusage: shm <command>/);
  }
});

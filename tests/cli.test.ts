/** The `shm` command line lists, removes and sweeps real segments, and refuses bad names. */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { lstatSync, symlinkSync, writeFileSync } from "node:fs";
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
    const result = shm("sweep", "--dry-run", "--min-age=0", "--prefix", prefix);
    assert.equal(result.status, 0, result.stderr);
    for (const name of unused) assert.match(result.stdout, new RegExp(`^would remove ${name} `, "m"));
    assert.doesNotMatch(result.stdout, new RegExp(inUse.name));
    assert.match(result.stdout, /would remove 2 segments that no process uses; 1 in use, young or changed kept/);
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
    const result = shm("sweep", "--min-age=0", `--prefix=${prefix}`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(unused.filter(segmentExists), []);
    assert.ok(segmentExists(inUse.name));
    assert.match(result.stdout, /removed 2 segments that no process uses; 1 in use, young or changed kept/);
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

/** Entries made straight in /dev/shm, as any local user could: hostile names, and a symlink. */
function hostileEntries(prefix: string) {
  const names = {
    carriage: `${prefix}cr\rFORGED  4 KiB  root`,
    escape: `${prefix}esc\x1b[31mred`,
    newline: `${prefix}nl\nsecond line`,
    deleted: `${prefix}gone (deleted)`,
  };
  for (const name of Object.values(names)) writeFileSync(`/dev/shm/${name}`, "x".repeat(100));
  const link = `${prefix}link`;
  symlinkSync("/etc/passwd", `/dev/shm/${link}`);
  return { names, link, all: [...Object.values(names), link] };
}

test("list prints hostile names escaped, and shows a symlink as one without following it", () => {
  const prefix = `${uniqueName("cli_hostile")}_`;
  const { names, link, all } = hostileEntries(prefix);
  try {
    const result = shm("list");
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stdout.includes("\r") && !result.stdout.includes("\x1b"), "a raw control character was printed");
    const rows = result.stdout.split("\n").filter((row) => row.startsWith(prefix));
    // One row per entry: the newline in a name does not make a second row.
    assert.equal(rows.length, all.length, result.stdout);
    assert.ok(rows.some((row) => row.startsWith(`${prefix}cr\\x0dFORGED\\x20\\x204\\x20KiB`)), rows.join("\n"));
    assert.ok(rows.some((row) => row.startsWith(`${prefix}esc\\x1b[31mred `)));
    assert.ok(rows.some((row) => row.startsWith(`${prefix}nl\\x0asecond\\x20line `)));
    assert.ok(rows.some((row) => row.startsWith(`${prefix}gone\\x20(deleted) `)));
    const linkRow = rows.find((row) => row.startsWith(`${link} `));
    assert.match(linkRow ?? "", /^\S+ +- +\S+ +\S+ +\(symlink, not a segment, not followed\)$/);
    const listed = (JSON.parse(shm("list", "--json").stdout) as Survey).segments;
    assert.equal(listed.find((s) => s.name === link)?.type, "symlink");
    assert.equal(listed.find((s) => s.name === names.newline)?.type, "file");
  } finally {
    all.forEach(removeIfPresent);
  }
});

test("sweep keeps in-use segments whatever their names, removes unused ones, never a symlink", () => {
  const prefix = `${uniqueName("cli_hostile_sweep")}_`;
  const { names, link, all } = hostileEntries(prefix);
  using newline = new SharedMemory({ name: `${prefix}mapped\nname`, create: true, size: 100 });
  using deleted = new SharedMemory({ name: `${prefix}mapped (deleted)`, create: true, size: 100 });
  try {
    const result = shm("sweep", "--min-age", "0", "--prefix", prefix);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(segmentExists(newline.name), "an in-use segment whose name holds a newline was removed");
    assert.ok(segmentExists(deleted.name), "an in-use segment whose name ends in ' (deleted)' was removed");
    assert.ok(lstatSync(`/dev/shm/${link}`).isSymbolicLink(), "the symlink was removed");
    assert.deepEqual(Object.values(names).filter(segmentExists), []);
    assert.ok(!result.stdout.includes("\r") && !result.stdout.includes("\x1b"), "a raw control character was printed");
    assert.match(result.stdout, /^removed .*nl\\x0asecond\\x20line /m);
    assert.match(result.stdout, /removed 4 segments that no process uses; 2 in use, young or changed kept/);
  } finally {
    all.forEach(removeIfPresent);
  }
});

test("sweep keeps segments younger than --min-age (default 60s)", () => {
  const prefix = `${uniqueName("cli_young")}_`;
  const young = unmapped(`${prefix}a`);
  try {
    const result = shm("sweep", "--prefix", prefix);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(segmentExists(young));
    assert.match(result.stdout, /removed 0 segments that no process uses; 1 in use, young or changed kept/);
    assert.equal(shm("sweep", "--min-age", "soon").status, 2);
  } finally {
    removeIfPresent(young);
  }
});

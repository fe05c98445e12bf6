/**
 * The rules cleanup runs on, one at a time: the protocol's lines, when a name is still ours, how names
 * are printed, and the watcher's pipe (non-blocking on this side only, published for every thread).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { readFileSync } from "node:fs";
import { SharedMemory } from "../mod.ts";
import { announceLine, createdLine, forgetLine, parseLine, splitLine } from "../src/cleanup/protocol.ts";
import { type Claim, stillOurs } from "../src/cleanup/ownership.ts";
import { printableName } from "../src/cleanup/printable.ts";
import { libc, systemCalls } from "../ffi/runtime.ts";
import { TEST_TIMEOUT_MS, waitFor, watchersOf } from "./helpers/children.ts";

test("every protocol line reads back as what it said, whatever the name", () => {
  for (const name of ["psm_1a2b3c4d", "a:b", "new\nline", "100%", "ünï"]) {
    assert.deepEqual(parseLine(announceLine("shm", name, 123n).slice(0, -1)), {
      command: "announce",
      claim: { kind: "shm", name, announcedNs: 123n },
    });
    assert.deepEqual(parseLine(createdLine("shm", name, 27, 1041).slice(0, -1)), {
      command: "created",
      claim: { kind: "shm", name, made: { dev: 27, ino: 1041 } },
    });
    assert.deepEqual(parseLine(forgetLine("shm", name).slice(0, -1)), { command: "forget", kind: "shm", name });
    const keys = [announceLine, forgetLine].map((line) => splitLine(line("shm", name, 1n).slice(0, -1))?.key);
    assert.equal(keys[0], keys[1], "announce and forget of one name share a key");
    assert.ok(!announceLine("shm", name, 1n).slice(0, -1).includes("\n"));
  }
  for (const bad of ["", "forget", "forget:lock:x", "created:shm:x:1", "announce:shm:x:soon", "frobnicate:shm:x"]) {
    assert.equal(parseLine(bad), undefined, bad);
  }
});

test("a made name is ours only with the same device and inode; an announced one only empty and changed since", () => {
  const made: Claim = { kind: "shm", name: "x", made: { dev: 27, ino: 1041 } };
  const at = (dev: number, ino: number, size = 64, ctimeNs = 0n) => ({ dev, ino, size, ctimeNs });
  assert.equal(stillOurs(made, at(27, 1041)), true);
  assert.equal(stillOurs(made, at(27, 1042)), false);
  assert.equal(stillOurs(made, at(28, 1041)), false);
  const announced: Claim = { kind: "shm", name: "x", announcedNs: 1000n };
  assert.equal(stillOurs(announced, at(1, 1, 0, 1000n)), true);
  assert.equal(stillOurs(announced, at(1, 1, 0, 999n)), false, "made before the announce: someone else's");
  assert.equal(stillOurs(announced, at(1, 1, 4096, 2000n)), false, "sized: ours is sized only after `created`");
});

test("a segment's change time is never before a file-clock time read before its create", () => {
  for (let i = 0; i < 200; i++) {
    const before = systemCalls().fileClockNs();
    using shm = new SharedMemory({ create: true, size: 8, track: false });
    const identity = libc().shmIdentity(shm.name);
    assert.ok(typeof identity !== "number");
    assert.ok(identity.ctimeNs >= before, `ctime ${identity.ctimeNs} < ${before}`);
  }
});

test("names print as one line with every control, space, format character and backslash escaped", () => {
  assert.equal(printableName("psm_1a2b3c4d"), "psm_1a2b3c4d");
  assert.equal(
    printableName("a\rb\x1b[31m\nc d\\e\u202ef\u00e9"),
    "a\\x0db\\x1b[31m\\x0ac\\x20d\\x5ce\\u{202e}f\u00e9",
  );
});

test("the watcher's pipe is non-blocking on the writer's side only, and published once for the process", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  using shm = new SharedMemory({ create: true, size: 8 });
  const published = systemCalls().getenv(`SHARED_MEMORY_WATCHER_${process.pid}`);
  const match = /^up:(\d+):\d+:\d+$/.exec(published ?? "");
  assert.ok(match, `published: ${published}`);
  const flags = (path: string) => parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(path, "utf8"))![1], 8);
  const O_NONBLOCK = 0o4000;
  assert.ok(flags(`/proc/self/fdinfo/${match[1]}`) & O_NONBLOCK, "the write end blocks");
  assert.ok(await waitFor(() => watchersOf(process.pid).length === 1, 5000), "no watcher");
  const watcher = watchersOf(process.pid)[0];
  const argv = readFileSync(`/proc/${watcher}/cmdline`, "utf8").split("\0");
  const readEnd = argv[argv.findIndex((arg) => arg.endsWith("ffi/watcher.ts")) + 1];
  assert.equal(flags(`/proc/${watcher}/fdinfo/${readEnd}`) & O_NONBLOCK, 0, "the read end does not block");
  assert.ok(shm.size > 0);
});

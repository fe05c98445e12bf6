/** The FFI layer: the platform table, errno after failures, and the runtime facts the design leans on. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { platformFor, PLATFORMS } from "../ffi/platforms.ts";
import { libc, systemCalls, whyNoNodeFfi } from "../ffi/runtime.ts";
import { SharedMemory, SharedMemoryError } from "../mod.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import { ROOT, run, runOk, runtimePath } from "./helpers/processes.ts";

test("every platform row names its library, symbols, flags, struct layouts and errno codes", () => {
  for (const [id, platform] of Object.entries(PLATFORMS)) {
    assert.equal(platform.id, id);
    assert.ok(platform.libraries.length > 0, id);
    assert.ok(platform.errnoSymbol && platform.fstatSymbol, id);
    for (const flag of [platform.O_RDWR, platform.O_CREAT, platform.O_EXCL]) assert.ok(flag > 0, id);
    assert.equal(new Set([platform.O_RDWR, platform.O_CREAT, platform.O_EXCL]).size, 3, `${id}: flags differ`);
    assert.ok(platform.statSizeOffset + 8 <= platform.statSize, id);
    assert.ok(platform.O_CLOEXEC > 0 && platform.sigactionSize >= 16, id);
    const codes = ["ENOENT", "EEXIST", "EACCES", "EINVAL", "EMFILE", "ENOSPC", "ENAMETOOLONG", "ENOMEM", "EINTR"];
    for (const code of codes) {
      assert.ok(Object.values(platform.errnoCodes).includes(code), `${id} lacks ${code}`);
    }
  }
});

test("runtime names of OS and CPU map onto the table", () => {
  assert.equal(platformFor("linux", "x64")?.id, "linux-x86_64");
  assert.equal(platformFor("linux", "x86_64")?.id, "linux-x86_64");
  assert.equal(platformFor("linux", "arm64")?.id, "linux-aarch64");
  assert.equal(platformFor("darwin", "aarch64")?.id, "darwin-aarch64");
  assert.equal(platformFor("windows", "x86_64"), undefined);
});

test("this machine is linux-x86_64 and its libc loads", () => {
  assert.equal(libc().platform.id, "linux-x86_64");
});

test("pipe2, an optional symbol, loads from glibc, and both ends of its pipe close on exec", () => {
  const pipe = systemCalls().pipe;
  assert.ok(pipe, "pipe2 was not loaded");
  const fds = pipe();
  assert.ok(typeof fds !== "number", `pipe2 failed: ${fds}`);
  try {
    for (const fd of fds) {
      // /proc/self/fdinfo/N has `flags: <octal>`; O_CLOEXEC is 0o2000000 on Linux.
      const flags = parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1], 8);
      assert.ok(flags & 0o2000000, `descriptor ${fd} does not close on exec (flags ${flags.toString(8)})`);
    }
  } finally {
    for (const fd of fds) systemCalls().close(fd);
  }
});

test("errno is read right after each failed call, also under allocation pressure", () => {
  const missing = uniqueName("errno");
  using existing = new SharedMemory({ create: true, size: 8 });
  let garbage: unknown[] = [];
  for (let i = 0; i < 3000; i++) {
    garbage.push(new Array(100).fill(i));
    if (garbage.length > 200) garbage = [];
    assert.throws(() => new SharedMemory(missing), { code: "ENOENT" });
    assert.throws(() => new SharedMemory({ name: existing.name, create: true, size: 8 }), { code: "EEXIST" });
  }
});

test("an errno the table does not name still makes a SharedMemoryError, coded E<number>", () => {
  const error = new SharedMemoryError("E999", 999, "mmap", "x");
  assert.equal(error.message, "mmap failed on shared memory segment 'x' (E999)");
});

test("transfer(0) detaches a buffer over the mapping, and close() after a caller detached it is fine", () => {
  // The fact the close() safety rests on (docs/runtime-facts.md): checked here on the raw FFI buffer.
  using shm = new SharedMemory({ create: true, size: 4096 });
  const buffer = shm.buf.buffer;
  const view = new Int32Array(buffer, 4, 4);
  (buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  assert.equal(buffer.byteLength, 0);
  assert.equal(view.length, 0);
  assert.equal(view[0], undefined);
});

test("Deno without --allow-ffi: importing works, the first call says to add --allow-ffi", () => {
  const out = runOk([runtimePath("deno"), "run", `${ROOT}tests/fixtures/without_ffi_permission.ts`]);
  assert.match(out, /^UnsupportedPlatformError: could not load libc \(.*\) in deno: run Deno with --allow-ffi$/);
});

test("Node without node:ffi (--no-experimental-ffi): importing works, the first call says which Node and flag it needs", () => {
  // Node 26.9+ has node:ffi on by default, so turning it off is how a Node without it is made here.
  const result = run([runtimePath("node"), "--no-experimental-ffi", `${ROOT}tests/fixtures/without_ffi_permission.ts`]);
  assert.deepEqual(result, {
    status: 0,
    signal: null,
    stdout: "UnsupportedPlatformError: shared memory in Node.js needs node:ffi (Node.js 26.1 or later, run with " +
      "--experimental-ffi); Node.js v26.10.0 has it turned off (--no-experimental-ffi)\n",
    stderr: "",
  });
});

test("the message for a Node without node:ffi says why for each version", () => {
  const needs = "shared memory in Node.js needs node:ffi (Node.js 26.1 or later, run with --experimental-ffi); ";
  assert.equal(whyNoNodeFfi("v24.11.1"), `${needs}Node.js v24.11.1 has no node:ffi`);
  assert.equal(whyNoNodeFfi("v26.0.0"), `${needs}Node.js v26.0.0 has no node:ffi`);
  assert.equal(whyNoNodeFfi("v26.3.0"), `${needs}Node.js v26.3.0 has it only with --experimental-ffi`);
  assert.equal(whyNoNodeFfi("v27.1.0"), `${needs}Node.js v27.1.0 has it turned off (--no-experimental-ffi)`);
});

test("Node under --permission without --allow-ffi: importing works, the first call says to add --allow-ffi", () => {
  const out = runOk([
    runtimePath("node"),
    "--permission",
    `--allow-fs-read=${ROOT}`,
    `${ROOT}tests/fixtures/without_ffi_permission.ts`,
  ]);
  assert.match(out, /^UnsupportedPlatformError: could not load libc \(.*\) in node: run Node.js with --allow-ffi$/);
});

test("Node under --permission with --allow-ffi but no --allow-child-process: no watcher, one line says why, exit still cleans up", () => {
  const result = run([
    runtimePath("node"),
    "--permission",
    `--allow-fs-read=${ROOT}`,
    "--allow-ffi",
    "--disable-warning=ExperimentalWarning",
    "--disable-warning=SecurityWarning",
    `${ROOT}tests/fixtures/exit_paths.ts`,
    "end",
  ]);
  const made = JSON.parse(result.stdout) as { tracked: string[]; untracked: string };
  try {
    assert.equal(result.status, 0);
    const lines = result.stderr.trim().split("\n");
    assert.match(lines[0], /^shared-memory: no crash watcher \(Node needs --allow-child-process to start one\)/);
    assert.match(lines[1], /^shared-memory: unlinked 2 segments left at exit: /);
    assert.equal(lines.length, 2, result.stderr);
    assert.deepEqual(made.tracked.filter(segmentExists), []);
  } finally {
    for (const name of [...made.tracked, made.untracked]) removeIfPresent(name);
  }
});

/** The smaller refusals of issue 12: each a clear error of the right kind, or the right result. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync, symlinkSync } from "node:fs";
import { type ArrayDescriptor, ShareableList, SharedArray, SharedMemory } from "../mod.ts";
import { ROOT, runOk, runPython, runScript, runtimePath, THIS_RUNTIME } from "./helpers/processes.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

test("mode -0 is mode 0, not an FFI type error", () => {
  using shm = new SharedMemory({ create: true, size: 8, mode: -0 });
  assert.equal(shm.size, 8);
});

test("a name that is a symbolic link is ELOOP, by name, not E40", () => {
  const target = uniqueName("target");
  const link = uniqueName("link");
  using real = new SharedMemory({ name: target, create: true, size: 8 });
  symlinkSync(`/dev/shm/${real.name}`, `/dev/shm/${link}`);
  try {
    assert.throws(() => new SharedMemory(link), { name: "SharedMemoryError", code: "ELOOP", message: /symbolic link/ });
  } finally {
    rmSync(`/dev/shm/${link}`, { force: true });
  }
});

test("a name that is a socket is ENXIO, by name, not E6", { timeout: 60_000 }, () => {
  const name = uniqueName("socket");
  runPython("import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", [`/dev/shm/${name}`]);
  try {
    assert.throws(() => new SharedMemory(name), { name: "SharedMemoryError", code: "ENXIO" });
  } finally {
    removeIfPresent(name);
  }
});

test("dtype null is a TypeError, never float64", () => {
  const name = uniqueName("nulldtype");
  assert.throws(() => SharedArray.zeros([2], null as never, { name }), {
    name: "TypeError",
    message: /dtype must be a string/,
  });
  assert.throws(() => SharedArray.from([1], { dtype: null as never, name }), TypeError);
  assert.equal(segmentExists(name), false);
});

test("new ShareableList(null, { name: undefined }) is a TypeError, as SharedMemory's, never a new empty list", () => {
  assert.throws(() => new ShareableList(null, { name: undefined }), { name: "TypeError", message: /name is required/ });
  assert.throws(() => new ShareableList(null), { name: "TypeError", message: /name is required/ });
  using empty = new ShareableList();
  assert.equal(empty.length, 0);
});

test("attach() types an array by a dtype it checks: another dtype is a TypeError, not a BigInt64Array", () => {
  using ints = SharedArray.from([1n, 2n]);
  const descriptor: ArrayDescriptor = ints.descriptor;
  // Checked by `deno check`: a descriptor of unknown dtype cannot be typed as float64 without options.dtype
  // @ts-expect-error: no overload takes a type argument for an untyped descriptor
  const untyped = () => SharedArray.attach<"float64">(descriptor);
  assert.equal(typeof untyped, "function"); // never called: the point is the type error above
  assert.throws(() => SharedArray.attach(JSON.stringify(descriptor), { dtype: "float64" }), {
    name: "TypeError",
    message: /dtype is int64, not 'float64'/,
  });
  using typed = SharedArray.attach(JSON.stringify(descriptor), { dtype: "int64" });
  const data: BigInt64Array = typed.data;
  assert.deepEqual([...data], [1n, 2n]);
});

test("the prototypes print without throwing", () => {
  assert.equal(String(SharedMemory.prototype), "SharedMemory {}");
  assert.equal(String(SharedArray.prototype), "SharedArray {}");
  assert.equal(String(ShareableList.prototype), "ShareableList {}");
  for (const prototype of [SharedMemory.prototype, SharedArray.prototype, ShareableList.prototype]) {
    assert.doesNotThrow(() => console.log(prototype));
  }
});

if (THIS_RUNTIME === "bun") {
  test("Bun: SharedArray.zeros above 4 GiB is a RangeError that says what to do, made before any segment", () => {
    const name = uniqueName("big");
    assert.throws(() => SharedArray.zeros([2 ** 29 + 1], "float64", { name, reserve: false }), {
      name: "RangeError",
      message: /largest ArrayBuffer \(4294967296 bytes\): split it .*SharedArray\.layout.*or run it in Deno/,
    });
    assert.equal(segmentExists(name), false);
  });
} else {
  test("Deno: SharedArray.zeros above 4 GiB works (sparse)", () => {
    using big = SharedArray.zeros([2 ** 29 + 1], "float64", { reserve: false });
    big.set(-1, 2.5);
    assert.equal(big.get(2 ** 29), 2.5);
  });
}

test("without --allow-ffi, the error's cause is the first library's refusal, not musl's", { timeout: 60_000 }, () => {
  const cause = runOk([runtimePath("deno"), "run", `${ROOT}tests/fixtures/without_ffi_permission_cause.ts`]);
  assert.match(cause, /libc\.so\.6/);
  assert.doesNotMatch(cause, /musl/);
});

test("close() detaches every view with the built-ins of load time, whatever a program replaced since", {
  timeout: 60_000,
}, () => {
  assert.equal(runScript(THIS_RUNTIME, "tests/fixtures/hostile_replaced_builtins.ts"), "0 undefined");
});

test("reserve is an option of SharedMemory, SharedArray and ShareableList, and must be a boolean", () => {
  const name = uniqueName("reserve");
  const refused = { name: "TypeError", message: "reserve must be a boolean, got 'no'" };
  assert.throws(() => new SharedMemory({ name, create: true, size: 8, reserve: "no" as never }), refused);
  assert.throws(() => SharedArray.zeros([4], "int8", { name, reserve: "no" as never }), refused);
  assert.throws(() => new ShareableList([1], { name, reserve: "no" as never }), refused);
  assert.equal(segmentExists(name), false);
  using sparse = SharedArray.zeros([4], "int8", { reserve: false });
  using list = new ShareableList([1, "two"], { reserve: false });
  assert.deepEqual([sparse.size, list.toArray()], [4, [1, "two"]]);
});

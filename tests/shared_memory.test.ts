/** SharedMemory in one process: create, attach, close, unlink, and what each promises. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { SharedMemory, SharedMemoryError } from "../mod.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

test("create with a size makes a psm_ name with 8 hex digits, as CPython", () => {
  const shm = new SharedMemory({ create: true, size: 64 });
  try {
    assert.match(shm.name, /^psm_[0-9a-f]{8}$/);
    assert.equal(shm.size, 64);
    assert.equal(shm.buf.length, 64);
    assert.equal(shm.created, true);
    assert.ok(segmentExists(shm.name));
  } finally {
    shm.close();
    shm.unlink();
  }
});

test("a new segment reads as zeros", () => {
  using shm = new SharedMemory({ create: true, size: 4096 });
  assert.ok(shm.buf.every((byte) => byte === 0));
});

test("attach by name sees the creator's bytes, and writes go both ways", () => {
  const name = uniqueName("attach");
  using creator = new SharedMemory({ name, create: true, size: 16 });
  creator.buf.set([1, 2, 3]);
  using attached = new SharedMemory({ name });
  assert.equal(attached.size, 16);
  assert.equal(attached.created, false);
  assert.deepEqual([...attached.buf.subarray(0, 3)], [1, 2, 3]);
  attached.buf[15] = 99;
  assert.equal(creator.buf[15], 99);
});

test("a string argument attaches by name", () => {
  using creator = new SharedMemory({ create: true, size: 8 });
  using attached = new SharedMemory(creator.name);
  assert.equal(attached.name, creator.name);
});

test("attaching ignores a given size and reads the segment's own", () => {
  using creator = new SharedMemory({ create: true, size: 100 });
  using attached = new SharedMemory({ name: creator.name, size: 5 });
  assert.equal(attached.size, 100);
});

test("typed arrays over buf.buffer are views of the mapping, not copies", () => {
  using shm = new SharedMemory({ create: true, size: 40 });
  const numbers = new BigInt64Array(shm.buf.buffer);
  numbers.set([1n, 2n, 3n, 4n, 5n]);
  using other = new SharedMemory(shm.name);
  assert.deepEqual([...new BigInt64Array(other.buf.buffer)], [1n, 2n, 3n, 4n, 5n]);
});

test("buf returns views of one buffer: every access sees the same memory", () => {
  using shm = new SharedMemory({ create: true, size: 8 });
  assert.equal(shm.buf.buffer, shm.buf.buffer);
});

test("view(offset, length) is a window of the same memory", () => {
  using shm = new SharedMemory({ create: true, size: 4096 });
  const window = shm.view(1000, 10);
  assert.equal(window.length, 10);
  window[0] = 7;
  assert.equal(shm.buf[1000], 7);
  assert.equal(shm.view(4000).length, 96);
  assert.equal(shm.view(4096).length, 0);
});

test("a view reads empty after close, and reading it does not crash", () => {
  const shm = new SharedMemory({ create: true, size: 64 });
  const bytes = shm.buf;
  const numbers = new Float64Array(shm.buf.buffer);
  const window = shm.view(8, 8);
  bytes[0] = 1;
  shm.close();
  shm.unlink();
  assert.equal(bytes.length, 0);
  assert.equal(bytes[0], undefined);
  assert.equal(numbers.length, 0);
  assert.equal(numbers[0], undefined);
  assert.equal(window.length, 0);
  assert.equal(shm.buf.length, 0);
  assert.equal(shm.view().length, 0);
  assert.equal(shm.closed, true);
});

test("close twice is harmless", () => {
  const shm = new SharedMemory({ create: true, size: 8 });
  shm.close();
  shm.close();
  shm.unlink();
});

test("unlink removes the name at once; the memory stays for handles still open", () => {
  using shm = new SharedMemory({ create: true, size: 8 });
  shm.buf[0] = 42;
  shm.unlink();
  assert.equal(segmentExists(shm.name), false);
  assert.equal(shm.buf[0], 42);
  assert.throws(() => new SharedMemory(shm.name), { code: "ENOENT" });
});

test("unlink twice reports ENOENT", () => {
  const shm = new SharedMemory({ create: true, size: 8 });
  shm.close();
  shm.unlink();
  assert.throws(() => shm.unlink(), (error: unknown) => {
    assert.ok(error instanceof SharedMemoryError);
    assert.equal(error.code, "ENOENT");
    assert.equal(error.syscall, "shm_unlink");
    return true;
  });
});

test("attaching a missing name is a SharedMemoryError ENOENT with a message a person understands", () => {
  const name = uniqueName("missing");
  assert.throws(() => new SharedMemory({ name }), (error: unknown) => {
    assert.ok(error instanceof SharedMemoryError);
    assert.equal(error.name, "SharedMemoryError");
    assert.equal(error.code, "ENOENT");
    assert.equal(error.errno, 2);
    assert.equal(error.syscall, "shm_open");
    assert.equal(error.segment, name);
    assert.equal(error.message, `no shared memory segment named '${name}' (ENOENT)`);
    return true;
  });
});

test("creating a name that exists is EEXIST and leaves the existing segment alone", () => {
  const name = uniqueName("exists");
  using first = new SharedMemory({ name, create: true, size: 8 });
  first.buf[0] = 5;
  assert.throws(() => new SharedMemory({ name, create: true, size: 8 }), (error: unknown) => {
    assert.ok(error instanceof SharedMemoryError);
    assert.equal(error.code, "EEXIST");
    assert.equal(error.message, `a shared memory segment named '${name}' already exists (EEXIST)`);
    return true;
  });
  using again = new SharedMemory(name);
  assert.equal(again.buf[0], 5);
});

test("an empty segment made elsewhere cannot be attached: a clear error, no descriptor left open", () => {
  const name = uniqueName("empty");
  fs.writeFileSync(`/dev/shm/${name}`, new Uint8Array(0), { mode: 0o600 }); // a 0-byte file is a 0-byte segment
  try {
    assert.throws(() => new SharedMemory(name), { code: "EINVAL", message: /is empty \(size 0\)/ });
  } finally {
    removeIfPresent(name);
  }
});

test("mode sets the new segment's permission bits", () => {
  const name = uniqueName("mode");
  using _shm = new SharedMemory({ name, create: true, size: 8, mode: 0o640 });
  assert.equal(fs.statSync(`/dev/shm/${name}`).mode & 0o777, 0o640);
});

test("the default mode is 0o600", () => {
  using shm = new SharedMemory({ create: true, size: 8 });
  assert.equal(fs.statSync(`/dev/shm/${shm.name}`).mode & 0o777, 0o600);
});

test("dispose of a handle that created the segment closes and unlinks it", () => {
  let name = "";
  let bytes: Uint8Array;
  {
    using shm = new SharedMemory({ create: true, size: 8 });
    name = shm.name;
    bytes = shm.buf;
  }
  assert.equal(segmentExists(name), false);
  assert.equal(bytes.length, 0);
});

test("dispose of an attached handle closes it and leaves the segment", () => {
  using creator = new SharedMemory({ create: true, size: 8 });
  {
    using _attached = new SharedMemory(creator.name);
  }
  assert.ok(segmentExists(creator.name));
});

test("dispose after an explicit unlink does not complain", () => {
  using shm = new SharedMemory({ create: true, size: 8 });
  shm.unlink();
});

test("toString and inspect read like CPython's repr", () => {
  using shm = new SharedMemory({ create: true, size: 4096 });
  assert.equal(String(shm), `SharedMemory('${shm.name}', size=4096)`);
  assert.equal(`${shm}`, `SharedMemory('${shm.name}', size=4096)`);
});

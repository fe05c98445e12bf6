/**
 * A segment above 4 GiB, sparse (`reserve: false`: tmpfs allocates only the pages touched, where the
 * default reservation would allocate all 5 GiB at create): Deno and Node map it as one `buf`;
 * Bun cannot make an ArrayBuffer above 4 GiB, so there `buf` is a clear RangeError and `view()`
 * windows still reach both ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";

const FIVE_GIB = 5 * 2 ** 30;

test("a 5 GiB sparse segment is reachable at both ends through view(), and empty windows are empty", () => {
  using shm = new SharedMemory({ create: true, size: FIVE_GIB, reserve: false });
  assert.equal(shm.size, FIVE_GIB);
  const head = shm.view(0, 4096);
  const tail = shm.view(FIVE_GIB - 4096, 4096);
  head[0] = 11;
  tail[4095] = 22;
  using attached = new SharedMemory(shm.name);
  assert.equal(attached.size, FIVE_GIB);
  assert.equal(attached.view(0, 1)[0], 11);
  assert.equal(attached.view(FIVE_GIB - 1, 1)[0], 22);
  assert.equal(shm.view(FIVE_GIB).length, 0, "an empty window at the end");
  assert.equal(shm.view(10, 0).length, 0, "an empty window inside");
  shm.close();
  assert.equal(head.length, 0, "windows read empty after close");
  assert.equal(tail.length, 0, "windows read empty after close");
});

if (THIS_RUNTIME !== "bun") {
  test(`${THIS_RUNTIME} maps a 5 GiB segment as one buf`, () => {
    using shm = new SharedMemory({ create: true, size: FIVE_GIB, reserve: false });
    const buf = shm.buf;
    assert.equal(buf.length, FIVE_GIB);
    buf[FIVE_GIB - 1] = 7;
    assert.equal(shm.view(FIVE_GIB - 1, 1)[0], 7);
  });
} else {
  test("Bun refuses buf of a 5 GiB segment with a clear RangeError that points to view()", () => {
    using shm = new SharedMemory({ create: true, size: FIVE_GIB, reserve: false });
    assert.throws(() => shm.buf, {
      name: "RangeError",
      message: /larger than this runtime's largest ArrayBuffer \(4294967296 bytes\): use view\(offset, length\)/,
    });
  });

  test("Bun refuses a single view above 4 GiB and allows one of exactly 4 GiB", () => {
    using shm = new SharedMemory({ create: true, size: FIVE_GIB, reserve: false });
    assert.throws(() => shm.view(0, 2 ** 32 + 1), { name: "RangeError", message: /largest ArrayBuffer/ });
    const window = shm.view(FIVE_GIB - 2 ** 32, 2 ** 32);
    window[2 ** 32 - 1] = 3;
    assert.equal(shm.view(FIVE_GIB - 1, 1)[0], 3);
  });
}

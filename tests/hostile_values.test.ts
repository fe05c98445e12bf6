/**
 * Crafted values: each is read once from the real object (a typed array by its internal slots, never by
 * its `length` or `constructor`), checked in full before the first byte of a segment is written, and
 * either written correctly or refused with a TypeError or RangeError that leaves every item as it was.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShareableList, SharedArray, SharedMemory } from "../mod.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

/** A list whose bytes can be compared whole before and after a refused write. */
function withList(check: (list: ShareableList, bytes: () => Uint8Array) => void): void {
  using list = new ShareableList([1234567, "abcdefgh", new Uint8Array([1, 2, 3]), null]);
  check(list, () => list.shm.buf.slice());
}

function assertRefusedUnchanged(
  list: ShareableList,
  bytes: () => Uint8Array,
  index: number,
  value: unknown,
  kind: typeof TypeError | typeof RangeError,
): void {
  const before = bytes();
  assert.throws(() => list.set(index, value as never), kind);
  assert.deepEqual(bytes(), before, "not one byte of the segment changed");
}

test("set() takes a Uint8Array's real length: a lying own length is refused when the real bytes do not fit", () => {
  withList((list, bytes) => {
    const value = new Uint8Array(40).fill(0xee);
    Object.defineProperty(value, "length", { value: 2 });
    assertRefusedUnchanged(list, bytes, 0, value, RangeError);
    assert.deepEqual(list.toArray(), [1234567, "abcdefgh", new Uint8Array([1, 2, 3]), null]);
  });
});

test("set() refuses a Proxy of a Uint8Array (it is not one), whatever length it reports", () => {
  withList((list, bytes) => {
    const real = new Uint8Array(40).fill(0xee);
    const proxy = new Proxy(real, { get: (target, key) => key === "length" ? 2 : Reflect.get(target, key) });
    assertRefusedUnchanged(list, bytes, 0, proxy, TypeError);
  });
});

test("set() with a detached Uint8Array is a TypeError and the old value stays, format and all", () => {
  withList((list, bytes) => {
    const value = new Uint8Array([1, 2, 3]);
    value.buffer.transfer();
    assertRefusedUnchanged(list, bytes, 0, value, TypeError);
    assert.equal(list.get(0), 1234567);
    assert.equal(list.format.slice(0, 1), "q");
  });
});

test("set() with a view of a closed segment is a TypeError and the old value stays", () => {
  withList((list, bytes) => {
    const other = new SharedMemory({ create: true, size: 8 });
    const view = other.buf;
    other[Symbol.dispose]();
    assertRefusedUnchanged(list, bytes, 2, view, TypeError);
    assert.deepEqual(list.get(2), new Uint8Array([1, 2, 3]));
  });
});

test("set() takes a subclass of Uint8Array as bytes, and a spoofed constructor changes nothing", () => {
  class Bytes extends Uint8Array {}
  withList((list) => {
    list.set(2, new Bytes([9, 8, 7]));
    assert.deepEqual(list.get(2), new Uint8Array([9, 8, 7]));
    const spoofed = new Float64Array([1]);
    Object.defineProperty(spoofed, "constructor", { value: Uint8Array });
    assert.throws(() => list.set(2, spoofed as never), TypeError);
    assert.deepEqual(list.get(2), new Uint8Array([9, 8, 7]));
  });
});

test("set() copies a view of the list's own format table as it was before the write", () => {
  withList((list) => {
    const formats = list.shm.buf.subarray(8 + 8 * 5 + 40, 8 + 8 * 5 + 40 + 8); // item 0's format field, "q"
    list.set(1, formats);
    assert.deepEqual(list.get(1), new Uint8Array([0x71]));
  });
});

test("from() knows a typed array by its slots: a spoofed constructor cannot skip the range checks", () => {
  const name = uniqueName("spoofed");
  const values = new Float64Array([300.7, -1000, 1e10]);
  Object.defineProperty(values, "constructor", { value: Uint8Array });
  using same = SharedArray.from(values);
  assert.equal(same.dtype, "float64");
  assert.deepEqual([...same.data], [300.7, -1000, 1e10]);
  assert.throws(() => SharedArray.from(values, { dtype: "uint8", name }), RangeError);
  assert.equal(segmentExists(name), false, "nothing was created");
});

test("from() takes a subclass of a typed array as its base type", () => {
  class Vec extends Float64Array {}
  using array = SharedArray.from(new Vec([1.5, 2.5]));
  assert.equal(array.dtype, "float64");
  assert.deepEqual(array.toList(), [1.5, 2.5]);
});

test("from() copies a typed array's real elements, whatever its own length says", () => {
  const values = new Int32Array([1, 2, 3, 4]);
  Object.defineProperty(values, "length", { value: 100 });
  using array = SharedArray.from(values);
  assert.deepEqual(array.toList(), [1, 2, 3, 4]);
  using nested = SharedArray.from([values, values]);
  assert.deepEqual(nested.shape, [2, 4]);
});

test("from() refuses a detached typed array with a TypeError", () => {
  const values = new Float32Array([1, 2]);
  values.buffer.transfer();
  assert.throws(() => SharedArray.from(values), { name: "TypeError", message: /detached Float32Array/ });
  assert.throws(() => SharedArray.from([values]), { name: "TypeError", message: /data\[0\] is a detached/ });
});

test("from() reads a Proxy of an array once: its length and each item a single time, and stores what it said", () => {
  const reads = new Map<PropertyKey, number>();
  let next = 0;
  const proxy = new Proxy([0, 0, 0], {
    get(target, key) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return key === "length" ? 3 : typeof key === "string" && /^\d+$/.test(key) ? ++next : Reflect.get(target, key);
    },
  });
  using array = SharedArray.from(proxy, { dtype: "int32" });
  assert.deepEqual(array.toList(), [1, 2, 3]);
  for (const key of ["length", "0", "1", "2"]) assert.equal(reads.get(key), 1, `${key} read once`);
});

test("from() refuses an array that contains itself, at once, with a TypeError naming where", () => {
  const name = uniqueName("cycle");
  const direct: unknown[] = [];
  direct.push(direct);
  assert.throws(() => SharedArray.from(direct as never, { name }), { name: "TypeError", message: /data\[0\]/ });
  const deeper: unknown[] = [[1], [2]];
  (deeper[1] as unknown[])[0] = deeper;
  assert.throws(() => SharedArray.from(deeper as never), { name: "TypeError", message: /data\[1\]\[0\]/ });
  const inner: unknown[] = [];
  const outer = [inner];
  inner.push(outer);
  assert.throws(() => SharedArray.from(outer as never, { name }), { name: "TypeError", message: /contains itself/ });
  assert.equal(segmentExists(name), false, "nothing was created");
});

test("from() refuses nesting deeper than 64 with a RangeError, and takes 64", () => {
  const nest = (depth: number): unknown => depth === 0 ? 1 : [nest(depth - 1)];
  using deepest = SharedArray.from(nest(64) as never);
  assert.equal(deepest.ndim, 64);
  assert.throws(() => SharedArray.from(nest(65) as never), { name: "RangeError", message: /nested more than 64/ });
  const endless: unknown[] = [];
  let tip = endless;
  for (let i = 0; i < 10_000; i++) tip.push(tip = []);
  assert.throws(() => SharedArray.from(endless as never), RangeError);
});

test("an empty array prints and converts at once whatever its axes: [2 ** 20, 2 ** 20, 0]", () => {
  using array = SharedArray.zeros([2 ** 20, 2 ** 20, 0]);
  assert.equal(String(array), "[]");
  assert.throws(() => array.toList(), { name: "RangeError", message: /empty lists/ });
  using attached = SharedArray.attach(array.descriptor);
  assert.equal(String(attached), "[]");
  using small = SharedArray.zeros([2, 0]);
  assert.equal(String(small), "[[], []]");
  assert.deepEqual(small.toList(), [[], []]);
});

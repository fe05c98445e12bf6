/**
 * Every bad input to SharedArray is refused with a TypeError (wrong kind of value) or RangeError (right
 * kind, bad value) before anything is created or written: a refused new array leaves no segment of its
 * name, and a refused placement, attach or set leaves every byte of the segment as it was.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedArray, SharedMemory } from "../mod.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

type Refused = typeof TypeError | typeof RangeError;
// deno-lint-ignore no-explicit-any
const bad = (value: unknown): any => value;

/** New arrays that must not be made: each gets the name its segment would have had. */
const NEW_SEGMENT: [string, Refused, (name: string) => unknown][] = [
  ["an unknown dtype", TypeError, (name) => SharedArray.zeros([2], bad("complex128"), { name })],
  ["a dtype that is not a string", TypeError, (name) => SharedArray.zeros([2], bad(8), { name })],
  ["a big-endian numpy type string", TypeError, (name) => SharedArray.zeros([2], bad(">i8"), { name })],
  ["a negative dimension", RangeError, (name) => SharedArray.zeros([2, -1], "int8", { name })],
  ["a fractional dimension", RangeError, (name) => SharedArray.zeros([2.5], "int8", { name })],
  ["a NaN dimension", RangeError, (name) => SharedArray.zeros([NaN], "int8", { name })],
  ["an infinite dimension", RangeError, (name) => SharedArray.zeros([Infinity], "int8", { name })],
  ["a dimension that is a string", TypeError, (name) => SharedArray.zeros([bad("3")], "int8", { name })],
  ["a shape that is a string", TypeError, (name) => SharedArray.zeros(bad("3"), "int8", { name })],
  ["a shape that is null", TypeError, (name) => SharedArray.zeros(bad(null), "int8", { name })],
  [
    "a shape too large to count in bytes",
    RangeError,
    (name) => SharedArray.zeros([2 ** 27, 2 ** 27], "float64", { name }),
  ],
  ["an offset without a segment to place in", TypeError, (name) => SharedArray.zeros([2], "int8", { name, offset: 0 })],
  ["an unknown option", TypeError, (name) => SharedArray.zeros([2], "int8", bad({ name, size: 4 }))],
  ["options that are not an object", TypeError, () => SharedArray.from([1], bad("options"))],
  ["a bad segment name", TypeError, () => SharedArray.zeros([2], "int8", { name: "a/b" })],
  ["a bad mode", RangeError, (name) => SharedArray.zeros([2], "int8", { name, mode: 0o1000 })],
  [
    "a shape whose product is not the number of values",
    RangeError,
    (name) => SharedArray.from([1, 2, 3, 4, 5], { name, shape: [2, 2] }),
  ],
  ["a 0-d shape for two values", RangeError, (name) => SharedArray.from([1, 2], { name, shape: [] })],
  ["a bigint for float64", TypeError, (name) => SharedArray.from([1, 2n], { name, dtype: "float64" })],
  [
    "a number for int64 that is not a safe integer",
    RangeError,
    (name) => SharedArray.from([1, 2 ** 60], { name, dtype: "int64" }),
  ],
  ["a fraction for int64", RangeError, (name) => SharedArray.from([1.5], { name, dtype: "int64" })],
  ["a fraction for int32", RangeError, (name) => SharedArray.from([1, 2.5], { name, dtype: "int32" })],
  ["256 for uint8", RangeError, (name) => SharedArray.from([1, 256], { name, dtype: "uint8" })],
  ["-129 for int8", RangeError, (name) => SharedArray.from([-129], { name, dtype: "int8" })],
  ["-1 for uint32", RangeError, (name) => SharedArray.from([-1], { name, dtype: "uint32" })],
  ["NaN for int16", RangeError, (name) => SharedArray.from([NaN], { name, dtype: "int16" })],
  ["2^64 for uint64", RangeError, (name) => SharedArray.from([2n ** 64n], { name, dtype: "uint64" })],
  ["-1n for uint64", RangeError, (name) => SharedArray.from([-1n], { name, dtype: "uint64" })],
  ["2^63 for int64", RangeError, (name) => SharedArray.from([2n ** 63n], { name, dtype: "int64" })],
  ["a bigint for int32", TypeError, (name) => SharedArray.from([1n], { name, dtype: "int32" })],
  ["a boolean for int8", TypeError, (name) => SharedArray.from([true], { name, dtype: "int8" })],
  ["2 for bool", RangeError, (name) => SharedArray.from([true, 2], { name, dtype: "bool" })],
  ["a string for bool", TypeError, (name) => SharedArray.from(["yes"], { name, dtype: "bool" })],
  ["string values", TypeError, (name) => SharedArray.from(["1", "2"], { name })],
  ["values of mixed kinds", TypeError, (name) => SharedArray.from([1, 2n], { name })],
  ["a null value", TypeError, (name) => SharedArray.from([null], { name })],
  ["ragged rows", RangeError, (name) => SharedArray.from([[1, 2], [3]], { name })],
  ["a value where a row was expected", RangeError, (name) => SharedArray.from([[1, 2], 3], { name })],
  ["a row where a value was expected", RangeError, (name) => SharedArray.from([1, [2]], { name })],
  ["data that is a string", TypeError, (name) => SharedArray.from(bad("abc"), { name })],
  ["data that is a DataView", TypeError, (name) => SharedArray.from(bad(new DataView(new ArrayBuffer(8))), { name })],
  [
    "a typed array of fractions for int16",
    RangeError,
    (name) => SharedArray.from(new Float64Array([1, 1.5]), { name, dtype: "int16" }),
  ],
  [
    "a BigInt64Array for float32",
    TypeError,
    (name) => SharedArray.from(new BigInt64Array([1n]), { name, dtype: "float32" }),
  ],
  [
    "a Uint8Array holding 2 for bool",
    RangeError,
    (name) => SharedArray.from(new Uint8Array([1, 2]), { name, dtype: "bool" }),
  ],
];

for (const [label, error, make] of NEW_SEGMENT) {
  test(`a new array with ${label} is refused with a ${error.name} and no segment is created`, () => {
    const name = uniqueName("arrbad");
    try {
      assert.throws(() => make(name), error);
      assert.equal(segmentExists(name), false);
    } finally {
      removeIfPresent(name);
    }
  });
}

/** Placements in, attaches to and writes into a 64-byte segment `name` whose every byte is 0xab. */
const IN_SEGMENT: [string, Refused, (shm: SharedMemory) => unknown][] = [
  [
    "an offset not a multiple of the element size",
    RangeError,
    (shm) => SharedArray.zeros([2], "float64", { shm, offset: 4 }),
  ],
  [
    "an offset whose array runs past the end",
    RangeError,
    (shm) => SharedArray.zeros([2], "float64", { shm, offset: 56 }),
  ],
  ["an array larger than the segment", RangeError, (shm) => SharedArray.zeros([65], "int8", { shm })],
  ["an offset past the end", RangeError, (shm) => SharedArray.zeros([0], "int8", { shm, offset: 65 })],
  ["a negative offset", RangeError, (shm) => SharedArray.zeros([1], "float64", { shm, offset: -8 })],
  ["a fractional offset", RangeError, (shm) => SharedArray.zeros([1], "int8", { shm, offset: 8.5 })],
  ["a NaN offset", RangeError, (shm) => SharedArray.zeros([1], "int8", { shm, offset: NaN })],
  ["an offset that is a string", TypeError, (shm) => SharedArray.zeros([1], "int8", { shm, offset: bad("8") })],
  ["a name beside shm", TypeError, (shm) => SharedArray.zeros([1], "int8", { shm, name: uniqueName("arrbad") })],
  ["a track option beside shm", TypeError, (shm) => SharedArray.zeros([1], "int8", { shm, track: false })],
  [
    "a shm that is not a SharedMemory",
    TypeError,
    () => SharedArray.zeros([1], "int8", { shm: bad({ name: "x", size: 64 }) }),
  ],
  ["a value of the wrong kind", TypeError, (shm) => SharedArray.from([1, 2, 3n], { shm, dtype: "int32" })],
  ["a value out of range after good ones", RangeError, (shm) => SharedArray.from([1, 2, 300], { shm, dtype: "uint8" })],
  ["a shape that disagrees with the values", RangeError, (shm) => SharedArray.from([1, 2, 3], { shm, shape: [2, 2] })],
  [
    "an unknown dtype in a descriptor",
    TypeError,
    (shm) => SharedArray.attach(bad({ name: shm.name, dtype: "complex", shape: [1], offset: 0 })),
  ],
  [
    "a misaligned descriptor offset",
    RangeError,
    (shm) => SharedArray.attach({ name: shm.name, dtype: "float64", shape: [1], offset: 4 }),
  ],
  [
    "a descriptor running past the end",
    RangeError,
    (shm) => SharedArray.attach({ name: shm.name, dtype: "int8", shape: [1], offset: 64 }),
  ],
  [
    "a negative dimension in a descriptor",
    RangeError,
    (shm) => SharedArray.attach({ name: shm.name, dtype: "int8", shape: [-1], offset: 0 }),
  ],
  [
    "a descriptor without a shape",
    TypeError,
    (shm) => SharedArray.attach(bad({ name: shm.name, dtype: "int8", offset: 0 })),
  ],
  ["a descriptor without a name", TypeError, () => SharedArray.attach(bad({ dtype: "int8", shape: [1], offset: 0 }))],
  [
    "a descriptor offset that is a string",
    TypeError,
    (shm) => SharedArray.attach(bad({ name: shm.name, dtype: "int8", shape: [1], offset: "0" })),
  ],
  ["a descriptor that is not JSON", TypeError, () => SharedArray.attach("{name: psm_1}")],
  ["a descriptor that is null", TypeError, () => SharedArray.attach(bad(null))],
  ["a descriptor that is an array", TypeError, () => SharedArray.attach(bad([]))],
  [
    "a shm option of another segment",
    RangeError,
    (shm) => SharedArray.attach({ name: "psm_00000000", dtype: "int8", shape: [1], offset: 0 }, { shm }),
  ],
  [
    "an unknown attach option",
    TypeError,
    (shm) => SharedArray.attach({ name: shm.name, dtype: "int8", shape: [1], offset: 0 }, bad({ create: true })),
  ],
];

/** Bad writes, each into a view (attached with { shm }, so nothing is written in making it). */
const VIEWS = {
  int32: (shm: SharedMemory) =>
    SharedArray.attach({ name: shm.name, dtype: "int32", shape: [4, 4], offset: 0 }, { shm }),
  int64: (shm: SharedMemory) => SharedArray.attach({ name: shm.name, dtype: "int64", shape: [2], offset: 0 }, { shm }),
  bool: (shm: SharedMemory) => SharedArray.attach({ name: shm.name, dtype: "bool", shape: [], offset: 0 }, { shm }),
  float64: (shm: SharedMemory) =>
    SharedArray.attach({ name: shm.name, dtype: "float64", shape: [8], offset: 0 }, { shm }),
};
const SETS: [string, Refused, (shm: SharedMemory) => unknown][] = [
  ["a fraction into int32", RangeError, (shm) => VIEWS.int32(shm).set(0, 0, 1.5)],
  ["2^31 into int32", RangeError, (shm) => VIEWS.int32(shm).set(0, 0, 2 ** 31)],
  ["a bigint into int32", TypeError, (shm) => VIEWS.int32(shm).set(0, 0, bad(1n))],
  ["a string into int32", TypeError, (shm) => VIEWS.int32(shm).set(0, 0, bad("1"))],
  ["an index past the end", RangeError, (shm) => VIEWS.int32(shm).set(4, 0, 1)],
  ["a negative index past the start", RangeError, (shm) => VIEWS.int32(shm).set(-5, 0, 1)],
  ["too few indices", RangeError, (shm) => VIEWS.int32(shm).set(0, 1)],
  ["too many indices", RangeError, (shm) => VIEWS.int32(shm).set(0, 0, 0, 1)],
  ["a fractional index", RangeError, (shm) => VIEWS.int32(shm).set(0.5, 0, 1)],
  ["an index that is a string", TypeError, (shm) => VIEWS.int32(shm).set(bad("0"), 0, 1)],
  ["an unsafe integer into int64", RangeError, (shm) => VIEWS.int64(shm).set(0, 2 ** 53)],
  ["2^63 into int64", RangeError, (shm) => VIEWS.int64(shm).set(1, 2n ** 63n)],
  ["a boolean into int64", TypeError, (shm) => VIEWS.int64(shm).set(0, bad(true))],
  ["2 into bool", RangeError, (shm) => VIEWS.bool(shm).set(2)],
  ["a string into bool", TypeError, (shm) => VIEWS.bool(shm).set(bad("x"))],
  ["a bigint into float64", TypeError, (shm) => VIEWS.float64(shm).set(0, bad(1n))],
  ["null into float64", TypeError, (shm) => VIEWS.float64(shm).set(0, bad(null))],
];

for (const [label, error, act] of [...IN_SEGMENT, ...SETS.map(([l, e, a]) => [`set of ${l}`, e, a] as const)]) {
  test(`${label} is refused with a ${error.name} and the segment's bytes are unchanged`, () => {
    const name = uniqueName("arrbad");
    try {
      using shm = new SharedMemory({ create: true, size: 64, name });
      shm.buf.fill(0xab);
      assert.throws(() => act(shm), error);
      assert.equal(shm.closed, false);
      assert.deepEqual([...shm.buf], new Array(64).fill(0xab));
    } finally {
      removeIfPresent(name);
    }
    assert.equal(segmentExists(name), false);
  });
}

test("a closed segment is refused as a place for an array with a TypeError", () => {
  const name = uniqueName("arrbad");
  try {
    const shm = new SharedMemory({ create: true, size: 8, name });
    shm[Symbol.dispose]();
    assert.throws(() => SharedArray.zeros([1], "int8", { shm }), TypeError);
    assert.throws(() => SharedArray.attach({ name, dtype: "int8", shape: [1], offset: 0 }, { shm }), TypeError);
  } finally {
    removeIfPresent(name);
  }
  assert.equal(segmentExists(name), false);
});

test("layout refuses specs with an unknown dtype or a bad shape, naming the spec", () => {
  assert.throws(
    () => SharedArray.layout([{ shape: [1], dtype: "int8" }, { shape: [1], dtype: "x" }]),
    /specs\[1\]\.dtype/,
  );
  assert.throws(() => SharedArray.layout([{ shape: [-1], dtype: "int8" }]), RangeError);
  assert.throws(() => SharedArray.layout(bad("int8")), TypeError);
  assert.throws(() => SharedArray.layout([bad(null)]), TypeError);
});

test("an unknown option to zeros, from or attach is refused with a TypeError naming it and the known options", () => {
  const name = uniqueName("arrbad");
  try {
    assert.throws(() => SharedArray.zeros([2], "int8", bad({ name, size: 4 })), {
      name: "TypeError",
      message: "unknown option 'size' (known: shm, offset, name, mode, track, reserve)",
    });
    assert.throws(() => SharedArray.from([1], bad({ name, dtpye: "int8" })), {
      name: "TypeError",
      message: "unknown option 'dtpye' (known: shm, offset, name, mode, track, reserve, dtype, shape)",
    });
    // checked before the segment is opened: no segment has this name, so opening it would be ENOENT
    assert.throws(() => SharedArray.attach({ name, dtype: "int8", shape: [2], offset: 0 }, bad({ name })), {
      name: "TypeError",
      message: "unknown option 'name' (known: shm, dtype)",
    });
    assert.throws(() => SharedArray.from([1], bad([name])), {
      name: "TypeError",
      message: /^options must be an object, got an array$/,
    });
    assert.equal(segmentExists(name), false);
  } finally {
    removeIfPresent(name);
  }
});

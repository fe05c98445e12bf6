/** SharedArray in one process: making, indexing, printing, descriptors, placement and lifetimes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type DType, DTYPES, SharedArray, SharedMemory } from "../mod.ts";
import { segmentExists, uniqueName, withName } from "./helpers/segments.ts";

/** numpy's typestr and itemsize for every dtype (from `np.dtype(name).str` and `.itemsize`). */
const NUMPY: Record<DType, [string, number, string]> = {
  bool: ["|b1", 1, "Uint8Array"],
  int8: ["|i1", 1, "Int8Array"],
  uint8: ["|u1", 1, "Uint8Array"],
  int16: ["<i2", 2, "Int16Array"],
  uint16: ["<u2", 2, "Uint16Array"],
  int32: ["<i4", 4, "Int32Array"],
  uint32: ["<u4", 4, "Uint32Array"],
  int64: ["<i8", 8, "BigInt64Array"],
  uint64: ["<u8", 8, "BigUint64Array"],
  float16: ["<f2", 2, "Float16Array"],
  float32: ["<f4", 4, "Float32Array"],
  float64: ["<f8", 8, "Float64Array"],
};

test("the dtype table has numpy's names, type strings and sizes, and float16 exactly where Float16Array exists", () => {
  const expected = Object.entries(NUMPY).filter(([name]) => name !== "float16" || typeof Float16Array === "function");
  assert.deepEqual(
    [...DTYPES.values()].map((info) => [info.name, [info.typestr, info.itemsize, info.array.name]]),
    expected,
  );
  assert.equal(DTYPES.has("float16"), typeof Float16Array === "function");
});

test("zeros makes a zero-filled array of every dtype with numpy's shape, strides, size and nbytes", () => {
  for (const dtype of DTYPES.keys()) {
    withName("arr", (name) => {
      using array = SharedArray.zeros([2, 3, 4], dtype, { name });
      const itemsize = NUMPY[dtype][1];
      assert.equal(array.dtype, dtype);
      assert.equal(array.typestr, NUMPY[dtype][0]);
      assert.equal(array.itemsize, itemsize);
      assert.deepEqual(array.shape, [2, 3, 4]);
      assert.deepEqual(array.strides, [12 * itemsize, 4 * itemsize, itemsize]);
      assert.equal(array.ndim, 3);
      assert.equal(array.size, 24);
      assert.equal(array.nbytes, 24 * itemsize);
      assert.equal(array.offset, 128); // after the .npy header (tests/npy.test.ts)
      assert.equal(array.data.constructor.name, NUMPY[dtype][2]);
      assert.equal(array.data.length, 24);
      assert.equal(array.shm.size, 128 + 24 * itemsize);
      assert.equal(array.shm.name, name);
      assert.ok(array.shm.view(128).every((byte) => byte === 0));
    });
  }
});

test("zeros defaults to float64 and takes a number as a 1-d shape", () => {
  withName("arr", (name) => {
    using array = SharedArray.zeros(5, undefined, { name });
    assert.equal(array.dtype, "float64");
    assert.deepEqual(array.shape, [5]);
  });
});

test("data is a view of the segment, not a copy: writes through either show in the other", () => {
  withName("arr", (name) => {
    using array = SharedArray.zeros([4], "int32", { name });
    array.data[1] = -2;
    assert.deepEqual([...array.shm.buf.subarray(array.offset + 4, array.offset + 8)], [0xfe, 0xff, 0xff, 0xff]);
    new Int32Array(array.shm.buf.buffer, array.offset)[3] = 7;
    assert.equal(array.get(3), 7);
  });
});

test("from infers the dtype from a typed array and copies it in once", () => {
  const sources = [
    new Int8Array([1, -2]),
    new Uint8Array([1, 2]),
    new Uint8ClampedArray([1, 2]),
    new Int16Array([1, -2]),
    new Uint16Array([1, 2]),
    new Int32Array([1, -2]),
    new Uint32Array([1, 2]),
    new BigInt64Array([1n, -2n]),
    new BigUint64Array([1n, 2n]),
    new Float32Array([0.5, -2]),
    new Float64Array([0.5, -2]),
  ];
  const names = [
    "int8",
    "uint8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
  ];
  sources.forEach((source, i) => {
    withName("arr", (name) => {
      using array = SharedArray.from(source, { name });
      assert.equal(array.dtype, names[i]);
      assert.deepEqual(array.shape, [2]);
      assert.deepEqual([...array.data], [...source]);
      const before = array.data[0];
      (source as unknown as unknown[])[0] = typeof before === "bigint" ? 9n : 9;
      assert.equal(array.data[0], before);
    });
  });
});

test("from infers float64 from numbers, int64 from bigints, bool from booleans, and the shape from nesting", () => {
  const cases: [unknown[], DType, number[]][] = [
    [[1, 2.5], "float64", [2]],
    [[1n, 2n, 3n], "int64", [3]],
    [[true, false], "bool", [2]],
    [[[1, 2, 3], [4, 5, 6]], "float64", [2, 3]],
    [[[[1n]], [[2n]]], "int64", [2, 1, 1]],
    [[new Float32Array([1, 2]), new Float32Array([3, 4])], "float64", [2, 2]],
    [[], "float64", [0]],
    [[[], []], "float64", [2, 0]],
  ];
  for (const [data, dtype, shape] of cases) {
    withName("arr", (name) => {
      using array = SharedArray.from(data, { name });
      assert.equal(array.dtype, dtype);
      assert.deepEqual(array.shape, shape);
    });
  }
});

test("from takes a dtype (by name or numpy type string) and a shape whose product matches the values", () => {
  withName("arr", (name) => {
    using array = SharedArray.from([1, 2, 3, 4, 5, 6], { name, dtype: "<i2" as "int16", shape: [3, 2] });
    assert.equal(array.dtype, "int16");
    assert.deepEqual(array.toList(), [[1, 2], [3, 4], [5, 6]]);
  });
  withName("arr", (name) => {
    using array = SharedArray.from(new Int32Array([7, 8]), { name, dtype: "float64" });
    assert.deepEqual([...array.data], [7, 8]);
  });
});

test("get and set take one index per axis in C order, negative indices counting from the end", () => {
  withName("arr", (name) => {
    using array = SharedArray.from([[0, 1, 2], [3, 4, 5]], { name, dtype: "int32" });
    assert.equal(array.get(1, 0), 3);
    assert.equal(array.get(-1, -1), 5);
    assert.equal(array.get(-2, 1), 1);
    array.set(1, -2, 40);
    array.set(-2, 0, -7);
    assert.deepEqual([...array.data], [-7, 1, 2, 3, 40, 5]);
  });
});

test("int64 and uint64 read as bigints and take bigints or safe integers; bool reads booleans", () => {
  withName("arr", (name) => {
    using array = SharedArray.zeros([3], "int64", { name });
    array.set(0, -(2n ** 63n));
    array.set(1, Number.MAX_SAFE_INTEGER);
    array.set(2, -5);
    assert.deepEqual([...array.data], [-(2n ** 63n), 2n ** 53n - 1n, -5n]);
    assert.equal(array.get(2), -5n);
  });
  withName("arr", (name) => {
    using array = SharedArray.zeros([1], "uint64", { name });
    array.set(0, 2n ** 64n - 1n);
    assert.equal(array.get(0), 2n ** 64n - 1n);
  });
  withName("arr", (name) => {
    using array = SharedArray.from([true, false, 1, 0], { name, dtype: "bool" });
    assert.deepEqual([...array.data], [1, 0, 1, 0]);
    assert.deepEqual(array.toList(), [true, false, true, false]);
    array.set(1, true);
    assert.equal(array.get(1), true);
  });
});

test("float32 and float16 round values as their typed arrays do", () => {
  withName("arr", (name) => {
    using array = SharedArray.from([0.1], { name, dtype: "float32" });
    assert.equal(array.get(0), Math.fround(0.1));
  });
  if (!DTYPES.has("float16")) return;
  withName("arr", (name) => {
    using array = SharedArray.from([0.1, 70000], { name, dtype: "float16" });
    assert.deepEqual(array.toList(), [0.0999755859375, Infinity]);
  });
});

test("a 0-d array (shape []) holds one element, indexed with no indices", () => {
  withName("arr", (name) => {
    using array = SharedArray.zeros([], "int16", { name });
    assert.equal(array.size, 1);
    assert.equal(array.ndim, 0);
    assert.deepEqual(array.strides, []);
    assert.equal(array.nbytes, 2);
    array.set(-3);
    assert.equal(array.get(), -3);
    assert.equal(array.toList(), -3);
    assert.equal(String(array), "-3");
  });
  withName("arr", (name) => {
    using array = SharedArray.from([7n], { name, shape: [] });
    assert.equal(array.get(), 7n);
  });
});

test("an empty array has no elements, an empty typed array, and a segment of its .npy header alone", () => {
  const numpyStrides = [[8], [24, 24, 8], [8, 8]]; // np.ndarray(shape, dtype=np.float64, buffer=...).strides
  for (const [i, shape] of [[0], [2, 0, 3], [0, 0]].entries()) {
    withName("arr", (name) => {
      using array = SharedArray.zeros(shape, "float64", { name });
      assert.equal(array.size, 0);
      assert.equal(array.nbytes, 0);
      assert.equal(array.data.length, 0);
      assert.equal(array.shm.size, array.offset);
      assert.deepEqual(array.strides, numpyStrides[i]);
      assert.throws(() => array.get(...shape.map(() => 0)), RangeError);
    });
  }
  withName("arr", (name) => {
    using array = SharedArray.from([], { name, dtype: "int8" });
    assert.equal(String(array), "[]");
    assert.deepEqual(array.toList(), []);
  });
});

test("an empty array can sit at the very end of a caller's segment", () => {
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size: 16, name });
    using array = SharedArray.zeros([0], "float64", { shm, offset: 16 });
    assert.equal(array.data.length, 0);
    assert.deepEqual(array.descriptor, { kind: "array", name, dtype: "float64", shape: [0], offset: 16 });
  });
});

test("toString prints a nested list: bigints without n, bools as true/false, -0 with its sign", () => {
  const cases: [unknown[], string, DType?][] = [
    [[2n, 4n, 6n, 8n, 10n], "[2, 4, 6, 8, 10]"],
    [[[1, 2, 3], [4, 5, 6]], "[[1, 2, 3], [4, 5, 6]]", "int32"],
    [[true, false], "[true, false]"],
    [[0.5, -0, NaN, -Infinity], "[0.5, -0, NaN, -Infinity]"],
    [[2n ** 64n - 1n], "[18446744073709551615]", "uint64"],
    [[[], []], "[[], []]"],
  ];
  for (const [data, text, dtype] of cases) {
    withName("arr", (name) => {
      using array = SharedArray.from(data, { name, dtype });
      assert.equal(array.toString(), text);
      assert.equal(`${array}`, text);
    });
  }
});

test("an array of more than 1000 elements prints summarized with ... on each long axis, as numpy does", () => {
  withName("arr", (name) => {
    using array = SharedArray.from(Float64Array.from({ length: 1001 }, (_, i) => i), { name });
    assert.equal(String(array), "[0, 1, 2, ..., 998, 999, 1000]");
  });
  withName("arr", (name) => {
    using array = SharedArray.from(Int32Array.from({ length: 2000 }, (_, i) => i), { name, shape: [40, 50] });
    assert.equal(
      String(array),
      "[[0, 1, 2, ..., 47, 48, 49], [50, 51, 52, ..., 97, 98, 99], [100, 101, 102, ..., 147, 148, 149], ..., " +
        "[1850, 1851, 1852, ..., 1897, 1898, 1899], [1900, 1901, 1902, ..., 1947, 1948, 1949], " +
        "[1950, 1951, 1952, ..., 1997, 1998, 1999]]",
    );
  });
  withName("arr", (name) => {
    using array = SharedArray.zeros([1000], "uint8", { name });
    assert.equal(String(array).includes("..."), false);
  });
});

test("the console shows an array as toString does, in Deno and in Bun", () => {
  withName("arr", (name) => {
    using array = SharedArray.from([1, 2], { name, dtype: "uint8" });
    const inspect = array as unknown as Record<symbol, () => string>;
    assert.equal(inspect[Symbol.for("Deno.customInspect")](), "[1, 2]");
    assert.equal(inspect[Symbol.for("nodejs.util.inspect.custom")](), "[1, 2]");
  });
});

test("the descriptor is plain JSON that attaches to the same memory, as an object or as its JSON string", () => {
  withName("arr", (name) => {
    using array = SharedArray.from([[1, 2], [3, 4]], { name, dtype: "uint16" });
    const descriptor = array.descriptor;
    assert.deepEqual(descriptor, { kind: "array", name, dtype: "uint16", shape: [2, 2], offset: 128 });
    assert.deepEqual(JSON.parse(JSON.stringify(descriptor)), descriptor);
    assert.equal(JSON.stringify(array), JSON.stringify(descriptor));
    descriptor.shape.push(9);
    assert.deepEqual(array.shape, [2, 2]);
    for (const [i, form] of [array.descriptor, JSON.stringify(array)].entries()) {
      using attached = SharedArray.attach(form);
      assert.equal(attached.shm.created, false);
      assert.deepEqual(attached.toList(), [[i === 0 ? 1 : 100, 2], [3, 4]]);
      attached.set(0, 0, 100 + i);
      assert.equal(array.get(0, 0), 100 + i);
    }
  });
});

test("attach takes a numpy type string as dtype, and an offset defaulting to 0", () => {
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size: 16, name });
    using array = SharedArray.from([1.5, 2.5], { shm });
    using attached = SharedArray.attach({ name, dtype: "<f8", shape: [2] } as never);
    assert.equal(attached.dtype, "float64");
    assert.deepEqual(attached.toList(), [1.5, 2.5]);
    assert.equal(array.size, 2);
  });
});

test("attach can reuse an open segment: several arrays of one segment with a single mapping", () => {
  withName("arr", (name) => {
    const { offsets, size } = SharedArray.layout([{ shape: [2], dtype: "int8" }, { shape: [2], dtype: "float64" }]);
    using shm = new SharedMemory({ create: true, size, name });
    SharedArray.from([1.5, 2.5], { shm, offset: offsets[1] });
    using view = SharedArray.attach({ name, dtype: "float64", shape: [2], offset: offsets[1] }, { shm });
    assert.equal(view.shm, shm);
    assert.deepEqual(view.toList(), [1.5, 2.5]);
    view.close();
    assert.equal(shm.closed, false);
  });
});

test("layout aligns each array to its element size, and arrays placed there do not overlap", () => {
  const specs = [
    { shape: [3], dtype: "uint8" },
    { shape: [2], dtype: "float64" },
    { shape: [], dtype: "int16" },
    { shape: [0], dtype: "int64" },
    { shape: [3], dtype: "int32" },
    { shape: [1], dtype: "bool" },
  ];
  const { offsets, size } = SharedArray.layout(specs);
  assert.deepEqual(offsets, [0, 8, 24, 32, 32, 44]);
  assert.equal(size, 45);
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size, name });
    const arrays = specs.map(({ shape, dtype }, i) =>
      SharedArray.zeros(shape, dtype as DType, { shm, offset: offsets[i] })
    );
    arrays.forEach((array, i) => array.data.fill((array.dtype === "int64" ? BigInt(i + 1) : i + 1) as never));
    arrays.forEach((array, i) => assert.deepEqual([...array.data].map(Number), Array(array.size).fill(i + 1)));
  });
  assert.deepEqual(SharedArray.layout([]), { offsets: [], size: 1 });
});

test("zeros in a caller's segment sets only its own window to zero", () => {
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size: 32, name });
    shm.buf.fill(0xab);
    using array = SharedArray.zeros([2], "int32", { shm, offset: 8 });
    assert.deepEqual([...shm.buf.subarray(4, 20)], [
      0xab,
      0xab,
      0xab,
      0xab,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xab,
      0xab,
      0xab,
      0xab,
    ]);
    assert.deepEqual(array.descriptor, { kind: "array", name, dtype: "int32", shape: [2], offset: 8 });
  });
});

test("disposing an array that created its segment unlinks it; close alone does not", () => {
  withName("arr", (name) => {
    const array = SharedArray.zeros([2], "int8", { name });
    array.close();
    assert.equal(array.shm.closed, true);
    assert.equal(segmentExists(name), true);
    array[Symbol.dispose]();
    assert.equal(segmentExists(name), false);
  });
  withName("arr", (name) => {
    {
      using _array = SharedArray.from([1, 2], { name });
      assert.equal(segmentExists(name), true);
    }
    assert.equal(segmentExists(name), false);
  });
});

test("an array in a caller's segment never closes or unlinks it", () => {
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size: 8, name });
    {
      using array = SharedArray.from([5, 6], { shm, dtype: "int32" });
      array.close();
    }
    assert.equal(shm.closed, false);
    assert.equal(segmentExists(name), true);
    assert.deepEqual([...new Int32Array(shm.buf.buffer)], [5, 6]);
  });
});

test("disposing an attached array closes its own mapping and leaves the segment linked", () => {
  withName("arr", (name) => {
    using owner = SharedArray.from([1, 2], { name });
    {
      using attached = SharedArray.attach(owner.descriptor);
      assert.equal(attached.get(1), 2);
    }
    assert.equal(segmentExists(name), true);
    assert.equal(owner.get(1), 2);
  });
});

test("a closed array has empty data, refuses get and set with a TypeError naming it, and says so when printed", () => {
  withName("arr", (name) => {
    using shm = new SharedMemory({ create: true, size: 16, name });
    const own = uniqueName("arr");
    for (const options of [{ name: own }, { shm }]) {
      const array = SharedArray.from([1, 2], { ...options, dtype: "int64" });
      const data = array.data;
      array[Symbol.dispose]();
      assert.equal(array.closed, true);
      assert.equal(array.data.length, 0);
      // the array's own segment is unmapped, so old views read empty; a caller's segment stays mapped
      assert.equal(data.length, "shm" in options ? 2 : 0);
      const closed = { name: "TypeError", message: `SharedArray over '${array.shm.name}' is closed` };
      assert.throws(() => array.get(0), closed);
      assert.throws(() => array.set(0, 1n), closed);
      assert.throws(() => array.toList(), closed);
      assert.equal(String(array), "SharedArray(closed, dtype=int64, shape=[2])");
      array.close();
      assert.equal(segmentExists(own), false);
    }
  });
});

test("an array whose caller's segment was closed reads as closed", () => {
  withName("arr", (name) => {
    const shm = new SharedMemory({ create: true, size: 8, name });
    using array = SharedArray.zeros([2], "float32", { shm });
    shm[Symbol.dispose]();
    assert.equal(array.closed, true);
    assert.equal(array.data.length, 0);
    assert.throws(() => array.get(0), { name: "TypeError", message: `SharedArray over '${name}' is closed` });
  });
});

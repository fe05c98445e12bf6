/** Properties of SharedArray's index math, layout, printing and copy-in, checked with fast-check. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DTYPES, SharedArray } from "../mod.ts";
import { elementStrides, flatIndex, sizeOf } from "../src/shared_array.ts";
import { withName } from "./helpers/segments.ts";
import { unravel } from "./fixtures/array_patterns.ts";

const shapes = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 });
const dtypes = fc.constantFrom(...DTYPES.keys());

test("every index of a shape maps to a distinct flat position, in C order, covering 0 .. size-1", () => {
  fc.assert(fc.property(shapes, (shape) => {
    const strides = elementStrides(shape);
    for (let i = 0; i < sizeOf(shape); i++) assert.equal(flatIndex(shape, strides, unravel(shape, i)), i);
  }));
});

test("a negative index -k is the same element as length - k, on every axis", () => {
  const cases = shapes.filter((shape) => shape.length > 0).chain((shape) =>
    fc.tuple(fc.constant(shape), fc.tuple(...shape.map((n) => fc.integer({ min: -n, max: n - 1 }))))
  );
  fc.assert(fc.property(cases, ([shape, index]) => {
    const strides = elementStrides(shape);
    const positive = index.map((i, axis) => (i < 0 ? i + shape[axis] : i));
    assert.equal(flatIndex(shape, strides, index), flatIndex(shape, strides, positive));
  }));
});

test("an index outside -length .. length-1 on any axis is a RangeError", () => {
  const cases = shapes.filter((shape) => shape.length > 0).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: -100, max: -1 })),
    )
  );
  fc.assert(fc.property(cases, ([shape, axis, beyond]) => {
    const index = shape.map(() => 0);
    index[axis] = beyond >= 0 ? shape[axis] + beyond : -shape[axis] + beyond;
    assert.throws(() => flatIndex(shape, elementStrides(shape), index), RangeError);
  }));
});

test("strides are numpy's C-order strides in bytes: the last is the item size, each the next times its length", () => {
  fc.assert(
    fc.property(shapes, dtypes, (shape, dtype) => {
      withName("arrprop", (name) => {
        using array = SharedArray.zeros(shape, dtype, { name });
        const itemsize = DTYPES.get(dtype)!.itemsize;
        shape.forEach((_, axis) => {
          const next = axis + 1 < shape.length ? array.strides[axis + 1] * shape[axis + 1] : itemsize;
          assert.equal(array.strides[axis], next);
        });
        assert.equal(array.nbytes, array.size * itemsize);
      });
    }),
    { numRuns: 60 },
  );
});

test("layout places arrays in order, each aligned to its element size, none overlapping, all within size", () => {
  const specs = fc.array(
    fc.record({ shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), dtype: dtypes }),
  );
  fc.assert(fc.property(specs, (list) => {
    const { offsets, size } = SharedArray.layout(list);
    let end = 0;
    list.forEach(({ shape, dtype }, i) => {
      const itemsize = DTYPES.get(dtype)!.itemsize;
      assert.equal(offsets[i] % itemsize, 0);
      assert.ok(offsets[i] >= end);
      assert.ok(offsets[i] - end < itemsize, "no more padding than alignment needs");
      end = offsets[i] + sizeOf(shape) * itemsize;
    });
    assert.equal(size, Math.max(end, 1));
  }));
});

test("int32 values copied in read back unchanged, and print as the JSON of toList", () => {
  const cases = shapes.chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
        minLength: sizeOf(shape),
        maxLength: sizeOf(shape),
      }),
    )
  );
  fc.assert(
    fc.property(cases, ([shape, values]) => {
      withName("arrprop", (name) => {
        using array = SharedArray.from(values, { name, dtype: "int32", shape });
        assert.deepEqual([...array.data], values);
        assert.equal(String(array), JSON.stringify(array.toList()).replaceAll(",", ", "));
        values.forEach((value, i) => assert.equal(array.get(...unravel(shape, i)), value));
      });
    }),
    { numRuns: 60 },
  );
});

test("float64 values (NaN, -0 and infinities included) and int64 bigints round-trip exactly", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double()),
      fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
      (floats, ints) => {
        withName("arrprop", (name) => {
          using array = SharedArray.from(floats, { name });
          assert.ok(floats.every((value, i) => Object.is(array.get(i), value)));
        });
        withName("arrprop", (name) => {
          using array = SharedArray.from(ints, { name, dtype: "int64" });
          assert.deepEqual(array.toList(), ints);
        });
      },
    ),
    { numRuns: 60 },
  );
});

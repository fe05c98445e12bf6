/**
 * Arrays crossing to numpy and back by segment name alone, through the `.npy` header: every dtype and
 * shape (0-d and empty included). TypeScript makes them and numpy's `np.load(..., mmap_mode="r+")` changes
 * them in place; numpy (`np.save` into /dev/shm, `np.lib.format.open_memmap`) or `shm_interop.create_array`
 * makes them and TypeScript attaches by name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedArray, SharedMemory } from "../mod.ts";
import { PYTHON, ROOT, run } from "./helpers/processes.ts";
import { assertGone, segmentExists, uniqueName } from "./helpers/segments.ts";
import { ALL_DTYPES, mismatches, SHAPES, writePattern } from "./fixtures/array_patterns.ts";
import { INTEROP_ENV, python, pythonFixture, SLOW } from "./fixtures/python_interop.ts";

const SPECS = ALL_DTYPES.flatMap((dtype) => SHAPES.map((shape) => ({ dtype, shape })));

/** Runs `body` with a fresh name per spec, then proves every one of them is gone. */
function withNames(tag: string, body: (names: string[]) => void): void {
  const names = SPECS.map(() => uniqueName(tag));
  try {
    body(names);
  } finally {
    assertGone(names);
  }
}

test(
  "numpy's np.load(mmap_mode='r+') opens every dtype and shape TypeScript made, zero-copy: its writes are TypeScript's reads",
  SLOW,
  () => {
    withNames("npyts", (names) => {
      const arrays = SPECS.map(({ dtype, shape }, i) => SharedArray.zeros(shape, dtype, { name: names[i] }));
      try {
        for (const array of arrays) writePattern(array, 1);
        const jobs = arrays.map((array) => ({
          name: array.shm.name,
          dtype: array.dtype,
          shape: array.shape,
          read: 1,
          write: 2,
        }));
        assert.equal(
          pythonFixture("python_arrays.py", ["load-check-write"], JSON.stringify(jobs)),
          `ok ${jobs.length}`,
        );
        assert.deepEqual(arrays.flatMap((array) => mismatches(array, 2)), []);
      } finally {
        for (const array of arrays) array[Symbol.dispose]();
      }
    });
  },
);

for (const how of ["save", "open_memmap", "create_array"]) {
  const maker = how === "create_array" ? "shm_interop.create_array" : how === "save" ? "np.save" : "open_memmap";
  test(
    `every dtype and shape that ${maker} made in /dev/shm attaches from TypeScript by name, as numpy wrote it`,
    SLOW,
    () => {
      withNames(`npy${how}`, (names) => {
        const specs = SPECS.map((spec, i) => ({ ...spec, name: names[i], seed: 3, how }));
        assert.equal(pythonFixture("python_arrays.py", ["create"], JSON.stringify(specs)), `ok ${specs.length}`);
        for (const { name, dtype, shape } of specs) {
          using array = SharedArray.attach(name);
          assert.deepEqual([array.dtype, array.shape, array.offset, array.shm.created], [dtype, shape, 128, false]);
          assert.deepEqual(mismatches(array, 3), []);
          new SharedMemory(name).unlink(); // made by Python untracked: TypeScript unlinks it
        }
      });
    },
  );
}

test("a numpy child that finds other values reports them and fails (the round trip's check has teeth)", SLOW, () => {
  withNames("npyneg", (names) => {
    using array = SharedArray.zeros([7], "int16", { name: names[0] });
    writePattern(array, 4);
    const job = { name: names[0], dtype: "int16", shape: [7], read: 1, write: 2 };
    const child = run([PYTHON, `${ROOT}tests/fixtures/python_arrays.py`, "load-check-write"], {
      input: JSON.stringify([job]),
      env: INTEROP_ENV,
    });
    assert.equal(child.status, 1);
    assert.match(child.stderr, /!=/);
  });
});

test(
  "shm_interop.attach_array doubles in place an array TypeScript made, by name and by descriptor, and the child's exit leaves both",
  SLOW,
  () => {
    withNames("npyattach", (names) => {
      using own = SharedArray.from([[1, 2, 3], [4, 5, 6]], { name: names[0], dtype: "int32" });
      const { offsets, size } = SharedArray.layout([{ shape: [3], dtype: "uint8" }, { shape: [2], dtype: "float64" }]);
      using shm = new SharedMemory({ create: true, size, name: names[1] });
      const bytes = SharedArray.from([1, 2, 3], { shm, offset: offsets[0], dtype: "uint8" });
      const floats = SharedArray.from([0.5, -2], { shm, offset: offsets[1] });
      const child = python(
        `import json, sys, shm_interop
with shm_interop.attach_array(sys.argv[1]) as shared:
    shared.array *= 2
    print(shared, shared.array.tolist())
for d in json.loads(sys.argv[2]):
    with shm_interop.attach_array(d) as shared:
        shared.array *= 2`,
        [own.shm.name, JSON.stringify([bytes, floats])],
      );
      assert.deepEqual(child, {
        status: 0,
        signal: null,
        stdout: `SharedArray('${names[0]}', dtype='int32', shape=(2, 3), offset=128) [[2, 4, 6], [8, 10, 12]]\n`,
        stderr: "",
      });
      assert.deepEqual([own.toList(), bytes.toList(), floats.toList()], [[[2, 4, 6], [8, 10, 12]], [2, 4, 6], [1, -4]]);
      assert.deepEqual(names.slice(0, 2).map(segmentExists), [true, true]);
    });
  },
);

test(
  "close() never unmaps under a live numpy view: the view stays readable, and the mapping goes with it",
  SLOW,
  () => {
    withNames("npyclose", (names) => {
      using _array = SharedArray.from([7, 8, 9], { name: names[0], dtype: "int64" });
      const child = python(
        `import sys, shm_interop
maps = lambda: open("/proc/self/maps").read().count(sys.argv[1])
with shm_interop.attach_array(sys.argv[1]) as shared:
    view = shared.array[1:]
print(shared.closed, view.tolist(), maps())
del view
print(maps())
with shm_interop.attach(sys.argv[1]) as shm:
    pass
print(maps())`,
        [names[0]],
      );
      assert.deepEqual(child, { status: 0, signal: null, stdout: "True [8, 9] 1\n0\n0\n", stderr: "" });
    });
  },
);

test("shm_interop.create_array's with block unlinks its segment; np.load sees the header it wrote", SLOW, () => {
  withNames("npycreate", (names) => {
    const child = python(
      `import os, sys
import numpy as np
import shm_interop
with shm_interop.create_array((2, 2), np.float32, sys.argv[1]) as shared:
    shared.array[...] = [[1, 2], [3, 4]]
    a = np.load("/dev/shm/" + shared.name, mmap_mode="r+")
    print(a.dtype, a.tolist(), shared.descriptor)
    del a
print(os.path.exists("/dev/shm/" + sys.argv[1]))`,
      [names[0]],
    );
    assert.deepEqual(child, {
      status: 0,
      signal: null,
      stdout: `float32 [[1.0, 2.0], [3.0, 4.0]] {'kind': 'array', 'name': '${
        names[0]
      }', 'dtype': 'float32', 'shape': [2, 2], 'offset': 128}\nFalse\n`,
      stderr: "",
    });
  });
});

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
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import { ALL_DTYPES, mismatches, SHAPES, writePattern } from "./fixtures/array_patterns.ts";
import { INTEROP_ENV, pythonFixture } from "./fixtures/python_interop.ts";

const SPECS = ALL_DTYPES.flatMap((dtype) => SHAPES.map((shape) => ({ dtype, shape })));

/** Runs `body` with a fresh name per spec, then proves every one of them is gone. */
function withNames(tag: string, body: (names: string[]) => void): void {
  const names = SPECS.map(() => uniqueName(tag));
  try {
    body(names);
  } finally {
    const left = names.filter(segmentExists);
    for (const name of names) removeIfPresent(name);
    assert.deepEqual(left, [], "segments left behind");
  }
}

test("numpy's np.load(mmap_mode='r+') opens every dtype and shape TypeScript made, zero-copy: its writes are TypeScript's reads", () => {
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
      assert.equal(pythonFixture("python_arrays.py", ["load-check-write"], JSON.stringify(jobs)), `ok ${jobs.length}`);
      assert.deepEqual(arrays.flatMap((array) => mismatches(array, 2)), []);
    } finally {
      for (const array of arrays) array[Symbol.dispose]();
    }
  });
});

for (const how of ["save", "open_memmap", "create_array"]) {
  const maker = how === "create_array" ? "shm_interop.create_array" : how === "save" ? "np.save" : "open_memmap";
  test(`every dtype and shape that ${maker} made in /dev/shm attaches from TypeScript by name, as numpy wrote it`, () => {
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
  });
}

test("a numpy child that finds other values reports them and fails (the round trip's check has teeth)", () => {
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

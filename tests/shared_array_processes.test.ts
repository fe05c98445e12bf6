/**
 * Arrays shared with a second process of each kind: a Deno, a Bun and a Node child, a Worker, and python3
 * with numpy. Every dtype, several shapes (0-d and empty included), each array both in a segment of its
 * own and at an aligned offset inside one shared segment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ArrayDescriptor, SharedArray, SharedMemory } from "../mod.ts";
import { PYTHON, ROOT, run, runOk, RUNTIMES, scriptCommand, start } from "./helpers/processes.ts";
import { startWorker } from "./helpers/worker.ts";
import { assertGone, segmentExists, uniqueName, withName } from "./helpers/segments.ts";
import { ALL_DTYPES, type Job, mismatches, SHAPES, writePattern } from "./fixtures/array_patterns.ts";

const CHILD = "tests/fixtures/array_child.ts";
const NUMPY = `${ROOT}tests/fixtures/array_numpy.py`;

/** Arrays of every dtype and shape, written with pattern 1, and the names of their segments. */
class ArraySet implements Disposable {
  readonly arrays: SharedArray[] = [];
  readonly names: string[] = [];
  readonly #shared: SharedMemory;

  constructor(tag: string) {
    const specs = ALL_DTYPES.flatMap((dtype) => SHAPES.map((shape) => ({ dtype, shape })));
    // each array in a segment of its own
    for (const { dtype, shape } of specs) {
      const name = uniqueName(tag);
      this.names.push(name);
      this.arrays.push(SharedArray.zeros(shape, dtype, { name }));
    }
    // and all of them again, side by side in one segment
    const { offsets, size } = SharedArray.layout(specs);
    const name = uniqueName(tag);
    this.names.push(name);
    this.#shared = new SharedMemory({ create: true, size, name });
    specs.forEach(({ dtype, shape }, i) => {
      this.arrays.push(SharedArray.zeros(shape, dtype, { shm: this.#shared, offset: offsets[i] }));
    });
    for (const array of this.arrays) writePattern(array, 1);
  }

  /** Jobs for a second process: check pattern 1, write pattern 2. */
  jobs(): Job[] {
    return this.arrays.map((array) => ({ descriptor: array.descriptor, read: 1, write: 2, strides: array.strides }));
  }

  /** Every element that does not hold pattern `seed`. */
  mismatches(seed: number): string[] {
    return this.arrays.flatMap((array) => mismatches(array, seed));
  }

  [Symbol.dispose](): void {
    for (const array of this.arrays) array[Symbol.dispose]();
    this.#shared[Symbol.dispose]();
  }
}

/** Runs `body` with a fresh set of arrays, then proves every segment it made is gone. */
async function withArrays(tag: string, body: (set: ArraySet) => void | Promise<void>): Promise<void> {
  let set: ArraySet | undefined;
  try {
    set = new ArraySet(tag);
    await body(set);
  } finally {
    set?.[Symbol.dispose]();
    assertGone(set?.names ?? []);
  }
}

for (const runtime of RUNTIMES) {
  test(`every dtype and shape round-trips through a ${runtime} child attaching by a JSON descriptor argument`, async () => {
    await withArrays(`arr${runtime}`, (set) => {
      const jobs = set.jobs();
      assert.equal(runOk(scriptCommand(runtime, CHILD, ["jobs", JSON.stringify(jobs)])), `ok ${jobs.length}`);
      assert.deepEqual(set.mismatches(2), []);
    });
  });
}

test("every dtype and shape round-trips through a Worker attaching by a descriptor sent by postMessage", async () => {
  await withArrays("arrworker", async (set) => {
    const worker = startWorker(new URL("./fixtures/array_worker.ts", import.meta.url));
    try {
      const reply = worker.next<{ mismatches?: string[]; error?: string }>();
      worker.postMessage(set.jobs());
      assert.deepEqual(await reply, { mismatches: [] });
    } finally {
      worker.terminate();
    }
    assert.deepEqual(set.mismatches(2), []);
  });
});

test("numpy reads every dtype and shape TypeScript wrote, through the README recipe, with the same strides, and TypeScript reads what numpy wrote", async () => {
  await withArrays("arrpy", (set) => {
    const jobs = set.jobs();
    assert.equal(runOk([PYTHON, NUMPY, "check-write"], { input: JSON.stringify(jobs) }), `ok ${jobs.length}`);
    assert.deepEqual(set.mismatches(2), []);
  });
});

test("arrays that numpy created attach from their Python-made descriptors and read what numpy wrote", () => {
  const specs = ALL_DTYPES.flatMap((dtype) => SHAPES.map((shape) => ({ dtype, shape, seed: 3 })));
  const descriptors = JSON.parse(
    runOk([PYTHON, NUMPY, "create"], { input: JSON.stringify(specs) }),
  ) as ArrayDescriptor[];
  try {
    assert.equal(descriptors.length, specs.length);
    const found: string[] = [];
    for (const descriptor of descriptors) {
      using array = SharedArray.attach(descriptor);
      found.push(...mismatches(array, 3));
      assert.equal(array.shm.created, false);
    }
    assert.deepEqual(found, []);
  } finally {
    for (const { name } of descriptors) new SharedMemory(name).unlink();
  }
  assert.deepEqual(descriptors.map((d) => d.name).filter(segmentExists), []);
});

test("a child that does not find the expected values reports them and fails (the round trips' check has teeth)", async () => {
  await withArrays("arrneg", (set) => {
    for (const array of set.arrays) writePattern(array, 4);
    const small = set.jobs().filter((job) => job.descriptor.shape.length === 1 && job.descriptor.shape[0] === 7);
    const child = run(scriptCommand("deno", CHILD, ["jobs", JSON.stringify(small)]));
    assert.equal(child.status, 1);
    assert.match(child.stderr, /expected/);
    const python = run([PYTHON, NUMPY, "check-write"], { input: JSON.stringify(small) });
    assert.equal(python.status, 1);
    assert.match(python.stderr, /!=/);
  });
});

test("Atomics.add from a Deno, a Bun and a Node process at once on an int32 array reaches the exact total", async () => {
  const increments = 500_000;
  await withName("arratomics", async (name) => {
    // element 0: the counter; 1: children ready; 2: children expected
    using counter = SharedArray.zeros([3], "int32", { name });
    counter.set(2, RUNTIMES.length);
    const children = RUNTIMES.map((runtime) =>
      start(scriptCommand(runtime, CHILD, ["atomics", JSON.stringify(counter), String(increments)]))
    );
    const results = await Promise.all(
      children.map((child) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = "";
          child.stderr.on("data", (chunk) => stderr += chunk);
          child.on("close", (code) => resolve({ code, stderr }));
        })
      ),
    );
    assert.deepEqual(results, RUNTIMES.map(() => ({ code: 0, stderr: "" })));
    assert.equal(counter.get(1), RUNTIMES.length);
    assert.equal(counter.get(0), RUNTIMES.length * increments);
  });
});

/** The manager frees everything it made or adopted, however its life ends. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShareableList, SharedArray, SharedMemory, SharedMemoryManager } from "../mod.ts";
import { trackedNames } from "../src/cleanup/tracking.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

/** Makes one of each kind with `manager`; returns their names. */
function makeOneOfEach(manager: SharedMemoryManager): string[] {
  const shm = manager.sharedMemory(4096);
  const list = manager.shareableList([1, 2.5, true, null, "héllo", new Uint8Array([1, 2])]);
  const array = manager.sharedArray([[1, 2], [3, 4]], { dtype: "int32" });
  const zeros = manager.zeros([3], "float64");
  return [shm.name, list.shm.name, array.shm.name, zeros.shm.name];
}

test("shutdown() unlinks every segment, list and array the manager made", () => {
  const manager = new SharedMemoryManager();
  const names = makeOneOfEach(manager);
  try {
    assert.deepEqual(names.filter(segmentExists), names);
    assert.deepEqual(manager.names.toSorted(), names.toSorted());
    manager.shutdown();
    assert.deepEqual(names.filter(segmentExists), []);
    assert.deepEqual(manager.names, []);
    assert.deepEqual(names.filter((name) => trackedNames().includes(name)), []);
  } finally {
    names.forEach(removeIfPresent);
  }
});

test("the end of a using block frees everything the manager made", () => {
  let names: string[] = [];
  try {
    {
      using manager = new SharedMemoryManager();
      names = makeOneOfEach(manager);
      assert.deepEqual(names.filter(segmentExists), names);
    }
    assert.deepEqual(names.filter(segmentExists), []);
  } finally {
    names.forEach(removeIfPresent);
  }
});

test("the end of an await using block frees everything the manager made", async () => {
  let names: string[] = [];
  try {
    {
      await using manager = new SharedMemoryManager();
      names = makeOneOfEach(manager);
    }
    assert.deepEqual(names.filter(segmentExists), []);
  } finally {
    names.forEach(removeIfPresent);
  }
});

test("what the manager made reads as closed after shutdown", () => {
  const manager = new SharedMemoryManager();
  const shm = manager.sharedMemory(64);
  const array = manager.zeros([4], "int8");
  manager.shutdown();
  assert.equal(shm.closed, true);
  assert.equal(shm.buf.length, 0);
  assert.equal(array.shm.closed, true);
  assert.equal(array.data.length, 0);
});

test("adopt() hands over segments, lists and arrays made elsewhere, even one attached by name", () => {
  const own = new SharedMemory({ create: true, size: 32 });
  const list = new ShareableList(["a", "b"]);
  const array = SharedArray.from(new Float32Array([1, 2, 3]));
  const foreign = new SharedMemory({ create: true, size: 16, track: false });
  const attached = new SharedMemory(foreign.name);
  const names = [own.name, list.shm.name, array.shm.name, foreign.name];
  try {
    const manager = new SharedMemoryManager();
    assert.equal(manager.adopt(own), own);
    manager.adopt(list);
    manager.adopt(array);
    manager.adopt(attached);
    manager.shutdown();
    assert.deepEqual(names.filter(segmentExists), []);
  } finally {
    foreign.close();
    names.forEach(removeIfPresent);
  }
});

test("shutdown() is not troubled by a segment already unlinked, and can run twice", () => {
  const manager = new SharedMemoryManager();
  const shm = manager.sharedMemory(16);
  const other = manager.sharedMemory(16);
  try {
    shm.unlink();
    manager.shutdown();
    manager.shutdown();
    assert.equal(segmentExists(other.name), false);
  } finally {
    removeIfPresent(other.name);
  }
});

test("a manager's segments are tracked, so they are freed at exit even without shutdown()", () => {
  const manager = new SharedMemoryManager();
  const shm = manager.sharedMemory(16);
  try {
    assert.ok(trackedNames().includes(shm.name));
  } finally {
    manager.shutdown();
  }
});

test("a manager takes the segment options it passes on, and refuses a shm to place an array in", () => {
  const name = uniqueName("manager");
  const manager = new SharedMemoryManager();
  try {
    const shm = manager.sharedMemory(16, { name, mode: 0o600 });
    assert.equal(shm.name, name);
    assert.throws(() => manager.zeros([2], "int8", { shm } as never), {
      name: "TypeError",
      message: /options\.shm is not allowed/,
    });
    assert.throws(() => manager.adopt({} as never), { name: "TypeError", message: /SharedMemory/ });
    assert.deepEqual(manager.names, [name]);
  } finally {
    manager.shutdown();
    removeIfPresent(name);
  }
});

test("a manager refuses an unknown option, or one it sets itself, naming it and the options it takes", () => {
  const name = uniqueName("manager");
  const manager = new SharedMemoryManager();
  try {
    assert.throws(() => manager.sharedMemory(16, { name, sise: 8 } as never), {
      name: "TypeError",
      message: "unknown option 'sise' (known: name, mode, track, reserve)",
    });
    assert.throws(() => manager.sharedMemory(16, { name, create: false } as never), {
      name: "TypeError",
      message: "unknown option 'create' (known: name, mode, track, reserve)",
    });
    assert.throws(() => manager.sharedArray([1], { name, dtpye: "int8" } as never), {
      name: "TypeError",
      message: "unknown option 'dtpye' (known: name, mode, track, reserve, dtype, shape)",
    });
    assert.throws(() => manager.zeros([2], "int8", { name, dtype: "int8" } as never), {
      name: "TypeError",
      message: "unknown option 'dtype' (known: name, mode, track, reserve)",
    });
    assert.throws(() => manager.sharedMemory(16, "name" as never), {
      name: "TypeError",
      message: /^options must be an object, got 'name'$/,
    });
    assert.deepEqual(manager.names, []);
    assert.equal(segmentExists(name), false);
  } finally {
    manager.shutdown();
    removeIfPresent(name);
  }
});

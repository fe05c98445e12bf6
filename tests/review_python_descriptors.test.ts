/**
 * A reviewer's attack on shm_interop's one descriptor reader: hostile descriptors (nested past what
 * json reads, huge numbers, wrong kinds, offsets past the segment) are Python's TypeError or ValueError,
 * or the kind's typed error where the segment cannot hold the object, never a RecursionError (json nested
 * too deep) or an AttributeError (the sync objects' offset check read the segment it had just closed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, Channel, Condition, Event, Mutex, Semaphore, ShareableList, SharedArray } from "../mod.ts";
import { pythonFixture, SLOW } from "./fixtures/python_interop.ts";

/** The Python errors a bad descriptor may raise: a wrong type, a wrong value, or the kind's own typed error
 * for a segment that cannot hold the object (MalformedObjectError, MalformedChannelError, ...). */
const CLEAR = new Set([
  "TypeError",
  "ValueError",
  "MalformedObjectError",
  "MalformedChannelError",
  "MalformedArrayError",
  "MalformedListError",
]);

test("every shm_interop attach refuses hostile descriptors with a TypeError or ValueError", SLOW, () => {
  using mutex = Mutex.create();
  using semaphore = Semaphore.create();
  using event = Event.create();
  using barrier = Barrier.create({ parties: 2 });
  using condition = Condition.create();
  using channel = Channel.create({ capacity: 4096 });
  using list = new ShareableList([1, 2]);
  using array = SharedArray.from([1, 2], { dtype: "int32" });
  const given = JSON.stringify(
    Object.fromEntries(
      Object.entries({ mutex, semaphore, event, barrier, condition, channel, list, array }).map((
        [k, v],
      ) => [k, JSON.stringify(v)]),
    ),
  );
  const lines = pythonFixture("review_python_hostile.py", [given]).split("\n");
  assert.ok(lines.length >= 8 * 12, `every case answered:\n${lines.join("\n")}`);
  const unclear = lines.filter((line) => !CLEAR.has(line.split(" ").at(-1)!));
  assert.deepEqual(unclear, [], "each a TypeError or ValueError");
});

/**
 * Every attach of shm_interop takes the descriptor TypeScript emits for its kind, in each of the three
 * forms TypeScript's own attach takes (the JSON text, the dict it parses to, the segment name), and
 * refuses another kind's with Python's error types; Python's own handles give descriptors TypeScript attaches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Barrier,
  Channel,
  Condition,
  Event,
  Mutex,
  Semaphore,
  ShareableList,
  SharedArray,
  SharedMemory,
} from "../mod.ts";
import { segmentExists } from "./helpers/segments.ts";
import { pythonFixture, SLOW } from "./fixtures/python_interop.ts";

test(
  "shm_interop attaches every object TypeScript made by its descriptor: the JSON, the dict or the name",
  SLOW,
  () => {
    let names: string[] = [];
    {
      using shm = new SharedMemory({ create: true, size: 64 });
      shm.buf[0] = 7;
      using list = new ShareableList([1, "two", null]);
      using array = SharedArray.from([1, 2, 3], { dtype: "int32" });
      using segment = new SharedMemory({ create: true, size: 256 });
      using placed = SharedArray.from([5, 6], { shm: segment, offset: 64, dtype: "uint16" });
      using mutex = Mutex.create();
      using semaphore = Semaphore.create({ value: 3 });
      using event = Event.create();
      event.set();
      using condition = Condition.create();
      using barrier = Barrier.create({ parties: 4 });
      using channel = Channel.create({ capacity: 4096 });
      const objects = { shm, list, array, placed, mutex, semaphore, event, condition, barrier, channel };
      names = Object.values(objects).map((o) => o.descriptor.name);
      const descriptors = Object.fromEntries(Object.entries(objects).map(([kind, o]) => [kind, JSON.stringify(o)]));

      const out = JSON.parse(pythonFixture("python_descriptors.py", [JSON.stringify(descriptors)]));

      const three = <T>(value: T) => ({ json: value, dict: value, name: value });
      const two = <T>(value: T) => ({ json: value, dict: value });
      assert.deepEqual(out.shm, three(7));
      assert.deepEqual(out.list, three([1, "two", null]));
      assert.deepEqual(out.array, three(["int32", [3], 128, "01000000"]));
      assert.deepEqual(out.placed, two(["uint16", [2], 64, "05000600"]));
      assert.deepEqual(out.mutex, three(true));
      assert.deepEqual(out.semaphore, three(3));
      assert.deepEqual(out.event, three(true));
      assert.deepEqual(out.condition, two(false));
      assert.deepEqual(out.barrier, three(4));
      assert.deepEqual(out.channel, three(4096));
      assert.deepEqual(out.refused, {
        "list as an array": "ValueError",
        "array as a list": "ValueError",
        "list at offset 8": "ValueError",
        "shm as a mutex": "ValueError",
        "mutex as a channel": "ValueError",
        "event as a semaphore": "ValueError",
        "list as a segment": "ValueError",
        "a number": "TypeError",
        "a list of values": "TypeError",
        "a name that is not a string": "TypeError",
        "a negative offset": "ValueError",
        "a bool offset": "TypeError",
        "bad JSON": "ValueError",
        "an empty name": "ValueError",
        "a condition without its mutex": "TypeError",
      });

      // and back: the descriptors of Python's handles are TypeScript's
      assert.deepEqual(JSON.parse(out.ours.shm), shm.descriptor);
      assert.deepEqual(JSON.parse(out.ours.list), list.descriptor);
      using again = SharedMemory.attach(out.ours.shm);
      assert.equal(again.buf[0], 7);
      using sameList = ShareableList.attach(out.ours.list);
      assert.deepEqual(sameList.toArray(), [1, "two", null]);
      assert.equal(barrier.nWaiting, 0);
    }
    assert.deepEqual(names.filter(segmentExists), [], "every segment is gone with its creator's using");
  },
);

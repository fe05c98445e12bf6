/**
 * A reviewer's attacks on placeObject, the one start of every sync object's and the Channel's create
 * and attach: each failure is the typed error documented, and leaves no segment and no mapping behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  Barrier,
  Channel,
  Condition,
  Event,
  MalformedChannelError,
  MalformedObjectError,
  Mutex,
  Semaphore,
  SharedMemory,
  SharedMemoryError,
} from "../mod.ts";
import { newSegmentsSince, segmentNames, uniqueName } from "./helpers/segments.ts";

/** How many mappings of segment `name` this process has (/proc/self/maps names each /dev/shm file). */
function mappingsOf(name: string): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.endsWith(`/dev/shm/${name}`))
    .length;
}

/** Runs `call`, which must throw `kind`, and checks it left no new segment and no new mapping of `name`. */
function refuses(call: () => unknown, kind: new (...args: never[]) => Error, name?: string, message?: RegExp) {
  const before = segmentNames();
  const mapped = name === undefined ? 0 : mappingsOf(name);
  assert.throws(call, (error: unknown) => {
    assert.ok(error instanceof kind, `expected a ${kind.name}, got ${String(error)}`);
    if (message) assert.match((error as Error).message, message);
    return true;
  });
  assert.deepEqual(newSegmentsSince(before), [], "no segment left behind");
  if (name !== undefined) assert.equal(mappingsOf(name), mapped, `no mapping of ${name} left behind`);
}

const KINDS = { mutex: Mutex, semaphore: Semaphore, event: Event, barrier: Barrier, channel: Channel } as const;
type Attaching = { attach(descriptor: unknown): { close(): void } };

test("attach of a segment too small for the kind: a MalformedObjectError, the segment's mapping closed", () => {
  using small = new SharedMemory({ name: uniqueName("rv_small"), create: true, size: 8 });
  for (const [kind, Kind] of Object.entries(KINDS)) {
    refuses(
      () => (Kind as unknown as Attaching).attach({ kind, name: small.name, offset: 0 }),
      MalformedObjectError,
      small.name,
      /cannot hold/,
    );
  }
});

test("attach of another kind, of another layout version, of one still being made: typed, nothing left", () => {
  using semaphore = Semaphore.create({ name: uniqueName("rv_kind") });
  const name = semaphore.descriptor.name;
  for (const kind of ["mutex", "event"] as const) {
    refuses(() => (KINDS[kind] as unknown as Attaching).attach({ kind, name, offset: 0 }), MalformedObjectError, name);
  }
  refuses(
    () => Condition.attach({ kind: "condition", name, offset: 0, mutex: { kind: "mutex", name, offset: 0 } }),
    MalformedObjectError,
    name,
  );
  refuses(
    () =>
      Condition.attach({
        kind: "condition",
        name,
        offset: 0,
        mutex: { kind: "mutex", name: uniqueName("no"), offset: 0 },
      }),
    SharedMemoryError,
    name,
  );
  using raw = new SharedMemory({ name });
  const header = new DataView(raw.buf.buffer);
  header.setUint16(4, 99, true); // the layout version
  refuses(() => Semaphore.attach(semaphore.descriptor), MalformedObjectError, name, /version 99/);
  header.setUint16(4, 1, true);
  header.setUint32(8, 0, true); // the state: still being made
  refuses(() => Semaphore.attach(semaphore.descriptor), MalformedObjectError, name, /being made/);
  header.setUint32(8, 1, true);
  Semaphore.attach(semaphore.descriptor).close(); // and the repaired header attaches
});

test("attach of a channel whose header claims more ring than its segment has: typed, nothing left", () => {
  using channel = Channel.create({ capacity: 65536 });
  using copy = new SharedMemory({ name: uniqueName("rv_chan"), create: true, size: 4096 });
  using original = new SharedMemory({ name: channel.descriptor.name });
  copy.buf.set(original.buf.subarray(0, 4096));
  refuses(() => Channel.attach({ ...channel.descriptor, name: copy.name }), MalformedChannelError, copy.name);
});

test("hostile descriptors: typed errors before any segment is opened", () => {
  using event = Event.create({ name: uniqueName("rv_hostile") });
  const name = event.descriptor.name;
  refuses(() => Event.attach(`{"kind":"event","name":"${name}","offset":1e400}`), Error, name);
  refuses(() => Event.attach({ kind: "event", name, offset: 2 ** 60 }), MalformedObjectError, name);
  refuses(() => Event.attach({ kind: "event", name, offset: 4 }), MalformedObjectError, name); // misaligned
  refuses(() => Event.attach("[".repeat(100_000)), Error);
  refuses(() => Event.attach({ kind: "event", name: "../etc", offset: 0 }), TypeError);
  refuses(() => Event.attach(""), TypeError);
  refuses(() => Event.attach({ kind: "mutex", name, offset: 0 } as never), TypeError);
});

test("create with bad options: typed, no segment made (and an existing name is not unlinked)", () => {
  using existing = Mutex.create({ name: uniqueName("rv_exists") });
  const name = existing.descriptor.name;
  refuses(() => Mutex.create({ name }), SharedMemoryError, name, /EEXIST/);
  assert.ok(segmentNames().has(name), "the existing segment is still there");
  refuses(() => Mutex.create({ mode: -1 }), RangeError);
  refuses(() => Mutex.create({ reserve: "yes" } as never), TypeError);
  refuses(() => Barrier.create({ parties: 0 }), RangeError);
  refuses(() => Channel.create({ capacity: 4096, senders: "x" } as never), TypeError);
  refuses(() => Event.create({ unknown: 1 } as never), TypeError);
  using shm = new SharedMemory({ name: uniqueName("rv_borrow"), create: true, size: 4096 });
  refuses(() => Condition.create({ shm, offset: 4096 - 64 }), RangeError, shm.name);
  refuses(() => Mutex.create({ shm, offset: 4 }), RangeError, shm.name);
  refuses(() => Mutex.create({ shm, name: "x" } as never), TypeError, shm.name);
  assert.equal(shm.closed, false, "a borrowed segment stays open after a failed create in it");
});

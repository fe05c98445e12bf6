/** Sync objects refuse what is not theirs: foreign and malformed segments, bad descriptors and options. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, Condition, Event, MalformedObjectError, Mutex, Semaphore, SharedMemory } from "../mod.ts";
import { LAYOUTS } from "../src/sync/layout.ts";
import { OBJECT_HEADER, OBJECT_KINDS } from "../src/shared_object.ts";
import { PYTHON, ROOT, runOk } from "./helpers/processes.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

function segment(tag: string, size = 4096): SharedMemory {
  return new SharedMemory({ name: uniqueName(tag), create: true, size });
}

test("a segment of zeros, or of other bytes, is no mutex", LONG, () => {
  using shm = segment("rf_zeros");
  assert.throws(() => Mutex.attach(shm.name), MalformedObjectError);
  shm.buf.fill(0x5a);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 0 }), /no shared object/);
});

test("an object of one kind is refused as another, naming what it holds", LONG, () => {
  using shm = segment("rf_kind");
  using semaphore = Semaphore.create({ shm, offset: 0 });
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 0 }), /holds a semaphore, not a mutex/);
  assert.throws(() => Event.attach({ kind: "event", name: shm.name, offset: 0 }), MalformedObjectError);
  using same = Semaphore.attach(semaphore.descriptor);
  assert.equal(same.value, 1);
});

test("another layout version, or an object still being made, is refused", LONG, () => {
  using shm = segment("rf_version");
  using _mutex = Mutex.create({ shm, offset: 64 });
  const header = new DataView(shm.buf.buffer, 64, 16);
  header.setUint16(OBJECT_HEADER.versionOffset, 99, true);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 64 }), /layout version 99/);
  header.setUint16(OBJECT_HEADER.versionOffset, 1, true);
  header.setUint32(OBJECT_HEADER.stateOffset, 0, true);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 64 }), /still being made/);
});

test("an offset past the end, or not a multiple of 8, is refused before any byte is read", LONG, () => {
  using shm = segment("rf_offset", 100);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 40 }), MalformedObjectError);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: shm.name, offset: 4 }), MalformedObjectError);
  assert.throws(() => Barrier.attach(shm.name), MalformedObjectError);
  assert.throws(() => Mutex.create({ shm, offset: 4 }), RangeError);
  assert.throws(() => Mutex.create({ shm, offset: 24 }), RangeError);
});

test("descriptors of the wrong kind or shape are TypeErrors", LONG, () => {
  using mutex = Mutex.create();
  assert.throws(() => Semaphore.attach(mutex.descriptor as never), TypeError);
  assert.throws(() => Mutex.attach({ kind: "mutex", offset: 0 } as never), TypeError);
  assert.throws(() => Mutex.attach({ kind: "mutex", name: mutex.descriptor.name, offset: -8 }), TypeError);
  assert.throws(() => Mutex.attach(42 as never), TypeError);
  assert.throws(
    () => Condition.attach({ kind: "condition", name: mutex.descriptor.name, offset: 0 } as never),
    TypeError,
  );
  assert.deepEqual(JSON.parse(JSON.stringify(mutex)), mutex.descriptor);
  using again = Mutex.attach(JSON.stringify(mutex));
  assert.deepEqual(again.descriptor, mutex.descriptor);
});

test("bad options are refused with TypeError or RangeError", LONG, () => {
  using shm = segment("rf_options");
  assert.throws(() => Mutex.create({ shm, name: "x" }), TypeError);
  assert.throws(() => Mutex.create({ offset: 8 }), TypeError);
  assert.throws(() => Mutex.create({ sise: 1 } as never), TypeError);
  assert.throws(() => Semaphore.create({ value: -1 }), RangeError);
  assert.throws(() => Semaphore.create({ value: 3, max: 2 }), RangeError);
  assert.throws(() => Barrier.create({ parties: 0 }), RangeError);
  assert.throws(() => Barrier.create({ parties: "2" as never }), TypeError);
  assert.throws(() => Condition.create({ mutex: {} as never }), TypeError);
});

test(
  "a closed object refuses use with a TypeError; dispose unlinks a segment it created, never a borrowed one",
  LONG,
  () => {
    using shm = segment("rf_close");
    const borrowed = Event.create({ shm, offset: 8 });
    borrowed[Symbol.dispose]();
    assert.equal(shm.closed, false);
    assert.throws(() => borrowed.set(), TypeError);
    const own = Semaphore.create();
    const name = own.descriptor.name;
    assert.ok(segmentExists(name));
    own[Symbol.dispose]();
    assert.equal(own.closed, true);
    assert.throws(() => own.release(), TypeError);
    assert.equal(segmentExists(name), false);
  },
);

test("python3 refuses the same foreign segment, and its layouts are TypeScript's", LONG, () => {
  using shm = segment("rf_python");
  using _semaphore = Semaphore.create({ shm, offset: 0 });
  const out = runOk([
    PYTHON,
    "-c",
    `import json, sys
sys.path.insert(0, "${ROOT}python")
from shm_interop import sync
try:
    sync.Mutex({"kind": "mutex", "name": sys.argv[1], "offset": 0})
    print("attached")
except sync.MalformedObjectError as error:
    print("refused:", error)
print(json.dumps({"layouts": sync.LAYOUTS, "kinds": sync.KINDS, "magic": sync.HEADER["magic"], "version": sync.SYNC_VERSION}))`,
    shm.name,
  ]);
  const [refusal, tables] = out.split("\n");
  assert.match(refusal, /^refused: .*not a mutex/);
  const python = JSON.parse(tables);
  assert.deepEqual(python.layouts, LAYOUTS);
  assert.deepEqual(python.kinds, OBJECT_KINDS);
  assert.equal(python.magic, OBJECT_HEADER.magic);
  assert.equal(python.version, 1);
});

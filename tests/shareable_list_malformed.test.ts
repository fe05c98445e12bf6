/**
 * Segments that are not well-formed lists: attaching refuses them with a clear MalformedListError,
 * reading an item another process spoiled refuses it, and nothing ever reads or writes out of bounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type ListValue, MalformedListError, ShareableList, SharedMemory } from "../mod.ts";
import { uniqueName } from "./helpers/segments.ts";

/** The bytes of a well-formed list of `values`, made by the library. */
function listBytes(values: ListValue[]): Uint8Array {
  using list = new ShareableList(values);
  return list.shm.buf.slice();
}

/** A segment holding exactly `bytes` (at least `size` bytes long), unlinked on dispose. */
function segmentOf(bytes: Uint8Array, size = bytes.length): SharedMemory {
  const shm = new SharedMemory({ create: true, size: Math.max(size, 1), name: uniqueName("bad") });
  shm.buf.set(bytes);
  return shm;
}

/** `base` with little-endian int64s and raw bytes written over it. */
function patched(base: Uint8Array, int64s: [number, bigint][], raw: [number, number[] | string][] = []): Uint8Array {
  const bytes = base.slice();
  const view = new DataView(bytes.buffer);
  for (const [at, value] of int64s) view.setBigInt64(at, value, true);
  for (const [at, data] of raw) bytes.set(typeof data === "string" ? [...data].map((c) => c.charCodeAt(0)) : data, at);
  return bytes;
}

function assertRefused(bytes: Uint8Array, reason: RegExp, size?: number): void {
  using shm = segmentOf(bytes, size);
  assert.throws(() => new ShareableList(null, { name: shm.name }), (error) => {
    assert.ok(error instanceof MalformedListError, `expected MalformedListError, got ${error}`);
    assert.equal(error.segment, shm.name);
    assert.match(error.reason, reason);
    assert.match(error.message, /does not hold a well-formed ShareableList/);
    return true;
  });
}

// [1, "ab", null]: N at 0, offsets 0/8/16/24 at 8..40, slots at 40/48/56, formats at 64, codes at 88; 91 bytes.
const BASE = listBytes([1, "ab", null]);
const FORMATS = 64;
const CODES = 88;

test("the base list used below is the layout these tests assume", () => {
  assert.equal(BASE.length, 91);
  using shm = segmentOf(BASE);
  using list = new ShareableList(null, { name: shm.name });
  assert.deepEqual(list.toArray(), [1, "ab", null]);
  assert.equal(list.format, "q8sxxxxxx?x");
});

test("a segment smaller than an empty list is refused", () => {
  assertRefused(new Uint8Array(8), /it is 8 bytes, smaller than the 16 bytes of an empty list/);
  assertRefused(new Uint8Array(15), /it is 15 bytes/);
});

test("a negative item count is refused", () => {
  assertRefused(patched(BASE, [[0, -1n]]), /item count is negative \(-1\)/);
  assertRefused(patched(BASE, [[0, -(2n ** 63n)]]), /negative/);
});

test("an item count that runs past the end of the segment is refused", () => {
  assertRefused(patched(BASE, [[0, 4n]]), /item count 4 runs past the end \(room for at most 3 items\)/);
  assertRefused(patched(BASE, [[0, 2n ** 62n]]), /runs past the end/);
  assertRefused(patched(new Uint8Array(16), [[0, 1n]]), /item count 1 runs past the end \(room for at most 0 items\)/);
});

test("a first offset other than 0 is refused", () => {
  assertRefused(patched(BASE, [[8, 8n]]), /first offset is 8, not 0/);
});

test("offsets that go backwards or leave a slot under 8 bytes are refused", () => {
  assertRefused(patched(BASE, [[24, 4n]]), /item 1's slot runs from offset 8 to 4: offsets must grow by at least 8/);
  assertRefused(patched(BASE, [[16, 4n]]), /item 0's slot runs from offset 0 to 4/);
  assertRefused(patched(BASE, [[32, -8n]]), /offsets must grow/);
});

test("an offset that runs past the end of the data area is refused", () => {
  assertRefused(patched(BASE, [[32, 32n]]), /offset 3 \(32\) runs past the end of the data area/);
  assertRefused(patched(BASE, [[32, 2n ** 62n]]), /runs past the end/);
});

test("an unknown format is refused, its bytes shown", () => {
  assertRefused(patched(BASE, [], [[FORMATS + 8, "zz"]]), /item 1 has an unknown format 'zz'/);
  assertRefused(patched(BASE, [], [[FORMATS, [0xff, 0x71]]]), /item 0 has an unknown format '\\xffq'/);
  assertRefused(patched(BASE, [], [[FORMATS, [0x71, 0, 0x71]]]), /item 0 has an unknown format 'q\\x00q'/);
  assertRefused(patched(BASE, [], [[FORMATS + 8, "12345678"]]), /item 1 has an unknown format '12345678'/);
  assertRefused(patched(BASE, [], [[FORMATS + 8, "s\0"]]), /item 1 has an unknown format 's'/);
});

test("an unknown back-transform code, or one that does not go with the format, is refused", () => {
  assertRefused(
    patched(BASE, [], [[CODES, [7]]]),
    /item 0 has an unknown back-transform code 7 \(known: 0 to 3\)/,
  );
  assertRefused(patched(BASE, [], [[CODES, [0xff]]]), /item 0 has an unknown back-transform code -1/);
  assertRefused(patched(BASE, [], [[CODES, [1]]]), /code 1, which does not go with format 'q'/);
  assertRefused(
    patched(BASE, [], [[CODES + 1, [0]]]),
    /item 1 has back-transform code 0, which does not go with format '8s'/,
  );
  assertRefused(patched(BASE, [], [[CODES + 2, [0]]]), /item 2 has back-transform code 0.*'xxxxxx\?x'/);
});

test("a string format longer than its slot is refused", () => {
  assertRefused(patched(BASE, [], [[FORMATS + 8, "16s"]]), /item 1 has format '16s', longer than its 8-byte slot/);
});

test("a segment larger than its list attaches, and an all-zero one is the empty list", () => {
  {
    using shm = segmentOf(BASE, 4096);
    using list = new ShareableList(null, { name: shm.name });
    assert.deepEqual(list.toArray(), [1, "ab", null]);
  }
  using zeros = segmentOf(new Uint8Array(64));
  using empty = new ShareableList(null, { name: zeros.name });
  assert.equal(empty.length, 0);
});

test("a string format shorter than its slot reads only that many bytes, as CPython does", () => {
  using shm = segmentOf(patched(listBytes(["abcdef"]), [], [[8 * 3 + 8, "3s\0"]]));
  using list = new ShareableList(null, { name: shm.name });
  assert.equal(list.get(0), "abc");
  list.set(0, "abcdefgh");
  assert.equal(list.get(0), "abcdefgh");
  assert.equal(list.format, "8s");
});

test("an item another process spoiled after attaching is refused on read, and a write repairs it", () => {
  using list = new ShareableList([1, "ab", null]);
  const bytes = list.shm.buf;
  bytes.set([0x7a, 0x7a], FORMATS);
  assert.throws(() => list.get(0), (error) => {
    assert.ok(error instanceof MalformedListError);
    assert.equal(error.reason, "item 0 has an unknown format 'zz'");
    return true;
  });
  assert.throws(() => list.toArray(), MalformedListError);
  assert.equal(list.format, "zz8sxxxxxx?x"); // the format text, as the bytes say it
  assert.equal(String(list), `ShareableList([<malformed>, 'ab', None], name='${list.shm.name}')`);
  list.set(0, 5);
  assert.equal(list.get(0), 5);
  bytes[CODES + 2] = 9;
  assert.throws(() => list.get(2), {
    name: "MalformedListError",
    message: /item 2 has an unknown back-transform code 9/,
  });
});

test("a str whose bytes are not UTF-8 is refused on read; the same bytes read fine as bytes", () => {
  using list = new ShareableList(["ab"]);
  list.shm.buf.set([0xff, 0xfe], 24);
  assert.throws(() => list.get(0), {
    name: "MalformedListError",
    message: /item 0 is a str whose bytes are not valid UTF-8/,
  });
  list.shm.buf[24 + 8 + 8] = 2; // the code: bytes
  assert.deepEqual(list.get(0), new Uint8Array([0xff, 0xfe]));
});

/**
 * Attaches, reads and writes every item: only MalformedListError (and a RangeError for a string that
 * does not fit) may come out, never an out-of-bounds access.
 */
function exercise(name: string): "refused" | "read" {
  let list: ShareableList;
  try {
    list = new ShareableList(null, { name });
  } catch (error) {
    if (error instanceof MalformedListError) return "refused";
    throw error;
  }
  try {
    for (let i = 0; i < list.length; i++) {
      try {
        list.get(i);
      } catch (error) {
        if (!(error instanceof MalformedListError)) throw error;
      }
      try {
        list.set(i, "12345678");
      } catch (error) {
        if (!(error instanceof RangeError && /does not fit/.test(error.message))) throw error;
      }
      list.set(i, -1);
      assert.equal(list.get(i), -1);
    }
    return "read";
  } finally {
    list.close();
  }
}

test("randomly spoiled lists are refused or read, with no error but MalformedListError and no access out of bounds", () => {
  const values = fc.array(
    fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }), fc.uint8Array()),
    { maxLength: 6 },
  );
  const spoils = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
  const seen = { refused: 0, read: 0 };
  fc.assert(
    fc.property(values, spoils, fc.boolean(), (items, changes, grow) => {
      const bytes = listBytes(items);
      for (const [at, byte] of changes) bytes[at % bytes.length] = byte;
      using shm = segmentOf(bytes, grow ? bytes.length + 64 : bytes.length);
      seen[exercise(shm.name)]++;
    }),
    { numRuns: 300 },
  );
  assert.ok(seen.refused > 0 && seen.read > 0, `both outcomes happen: ${JSON.stringify(seen)}`);
});

test("random layouts of plausible and implausible slots, formats and codes are refused or read, never out of bounds", () => {
  const item = fc.record({
    slot: fc.integer({ min: 0, max: 24 }),
    format: fc.constantFrom("q", "d", "xxxxxxx?", "xxxxxx?x", "8s", "16s", "3s", "0s", "zz", "s"),
    code: fc.constantFrom(0, 1, 2, 3, 7, -1),
    data: fc.uint8Array({ maxLength: 24 }),
  });
  const seen = { refused: 0, read: 0 };
  fc.assert(
    fc.property(fc.array(item, { maxLength: 5 }), fc.integer({ min: -2, max: 2 }), (items, trim) => {
      const dataStart = 8 * (items.length + 2);
      const dataBytes = items.reduce((sum, it) => sum + it.slot, 0);
      const formats = dataStart + dataBytes;
      const full = new Uint8Array(formats + 9 * items.length);
      const view = new DataView(full.buffer);
      view.setBigInt64(0, BigInt(items.length), true);
      let offset = 0;
      items.forEach((it, i) => {
        full.set(it.data.subarray(0, it.slot), dataStart + offset);
        offset += it.slot;
        view.setBigInt64(8 + 8 * (i + 1), BigInt(offset), true);
        full.set([...it.format].map((c) => c.charCodeAt(0)), formats + 8 * i);
        full[formats + 8 * items.length + i] = it.code & 0xff;
      });
      const bytes = new Uint8Array(Math.max(1, full.length + trim)); // one or two bytes short, or spare
      bytes.set(full.subarray(0, bytes.length));
      using shm = segmentOf(bytes);
      seen[exercise(shm.name)]++;
    }),
    { numRuns: 400 },
  );
  assert.ok(seen.refused > 0 && seen.read > 0, `both outcomes happen: ${JSON.stringify(seen)}`);
});

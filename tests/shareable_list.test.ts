/** ShareableList in one process: values, indices, errors that leave everything as it was, cleanup. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type ListValue, MalformedListError, ShareableList, SharedMemoryError } from "../mod.ts";
import { trackedNames } from "../src/cleanup/tracking.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** A copy of the whole segment, to prove a refused call wrote nothing. */
function snapshot(list: ShareableList): Uint8Array {
  return list.shm.buf.slice();
}

test("values of every kind read back as written", () => {
  const values: ListValue[] = [1, 2.5, true, false, null, "héllo", bytes(97, 98), -7, "", bytes(), 2n ** 62n];
  using list = new ShareableList(values);
  assert.equal(list.length, values.length);
  assert.deepEqual(list.toArray(), [1, 2.5, true, false, null, "héllo", bytes(97, 98), -7, "", bytes(), 2n ** 62n]);
  assert.equal(list.format, "qdxxxxxxx?xxxxxxx?xxxxxx?x8s8sq8s8sq");
});

test("an int64 reads as a number when it is a safe integer and as a bigint otherwise", () => {
  const max = Number.MAX_SAFE_INTEGER;
  using list = new ShareableList([max, -max, 2 ** 53, -(2 ** 53), 5n, -(2n ** 63n), 2n ** 63n - 1n, 2 ** 62]);
  assert.deepEqual(list.toArray(), [max, -max, 2n ** 53n, -(2n ** 53n), 5, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 62n]);
  assert.equal(list.format, "q".repeat(8));
});

test("integer numbers are stored as int64 and other numbers as float64, -0 keeping its sign", () => {
  using list = new ShareableList([3, 3.5, -0, 0, NaN, Infinity, 1e20, 2 ** 63, -(2 ** 63)]);
  assert.equal(list.format, "qddqddddq");
  assert.ok(Object.is(list.get(2), -0));
  assert.ok(Object.is(list.get(3), 0));
  assert.ok(Number.isNaN(list.get(4)));
  assert.equal(list.get(6), 1e20);
  assert.equal(list.get(7), 2 ** 63);
  assert.equal(list.get(8), -(2n ** 63n));
});

test("a string's slot is sized from its UTF-8 bytes, so multi-byte strings are never cut", () => {
  using list = new ShareableList(["ééééé", "1234567", "12345678", "€€€€€€€", "😀"]);
  assert.equal(list.format, "16s8s16s24s8s");
  assert.deepEqual(list.toArray(), ["ééééé", "1234567", "12345678", "€€€€€€€", "😀"]);
});

test("a string or bytes value that fills its slot exactly reads back whole", () => {
  using list = new ShareableList(["12345678", bytes(1, 2, 3, 4, 5, 6, 7, 8), "x"]);
  list.set(2, "éééab");
  assert.deepEqual(list.toArray(), ["12345678", bytes(1, 2, 3, 4, 5, 6, 7, 8), "éééab"]);
});

test("strings and bytes lose their trailing NUL bytes on read, as in CPython, and keep every other", () => {
  using list = new ShareableList(["ab\0\0", "\0a\0b", bytes(0, 1, 0, 0), bytes(0, 0), "\ufeffbom"]);
  assert.deepEqual(list.toArray(), ["ab", "\0a\0b", bytes(0, 1), bytes(), "\ufeffbom"]);
});

test("a str item decodes exactly as a strict UTF-8 decoder does, and invalid UTF-8 is refused", () => {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const utf8 = fc.string({ unit: "binary", maxLength: 12 }).map((s) => new TextEncoder().encode(s));
  const edges = fc.constantFrom(
    [0xc0, 0x80],
    [0xc1, 0xbf],
    [0xe0, 0x9f, 0xbf],
    [0xed, 0xa0, 0x80],
    [0xed, 0xbf, 0xbf],
    [0xed, 0x9f, 0xbf],
    [0xef, 0xbf, 0xbf],
    [0xf0, 0x8f, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf4, 0x8f, 0xbf, 0xbf],
    [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82],
    [0x80],
  ).map((b) => new Uint8Array(b));
  const pieces = fc.array(fc.oneof(utf8, edges, fc.uint8Array({ maxLength: 4 })), { maxLength: 4 });
  using list = new ShareableList([new Uint8Array(48)]);
  const code = list.shm.size - 1; // the one item's back-transform code ends the list
  fc.assert(
    fc.property(pieces, (parts) => {
      const data = new Uint8Array(parts.flatMap((p) => [...p]).slice(0, 48));
      list.set(0, data);
      list.shm.buf[code] = 1; // the same bytes, now a str
      let end = data.length;
      while (end > 0 && data[end - 1] === 0) end--;
      let expected: string | undefined;
      try {
        expected = decoder.decode(data.subarray(0, end));
      } catch {
        expected = undefined;
      }
      if (expected === undefined) assert.throws(() => list.get(0), MalformedListError);
      else assert.equal(list.get(0), expected);
    }),
    { numRuns: 1000 },
  );
});

test("strings of every UTF-8 length are written as TextEncoder writes them", () => {
  const strings = fc.string({ unit: "binary", maxLength: 40 });
  fc.assert(
    fc.property(strings, (text) => {
      using list = new ShareableList([text]);
      const encoded = new TextEncoder().encode(text);
      assert.deepEqual(list.shm.buf.slice(24, 24 + encoded.length), encoded);
      assert.equal(list.get(0), text.replace(/\0+$/, ""));
    }),
    { numRuns: 300 },
  );
});

test("bytes read as a copy that later writes do not change", () => {
  using list = new ShareableList([bytes(1, 2, 3)]);
  const first = list.get(0) as Uint8Array;
  list.set(0, bytes(9));
  assert.deepEqual(first, bytes(1, 2, 3));
});

test("set changes an item's kind, as CPython does: any value fits a number's slot if small enough", () => {
  using list = new ShareableList([1, "a string of 16 b"]);
  list.set(0, "8 bytes!");
  list.set(1, 2.5);
  assert.deepEqual(list.toArray(), ["8 bytes!", 2.5]);
  assert.equal(list.format, "8sd");
  list.set(1, "back to string");
  assert.equal(list.format, "8s24s");
  assert.equal(list.get(1), "back to string");
});

test("get and set take negative indices from the end; at gives undefined out of range, get throws", () => {
  using list = new ShareableList([1, 2, 3]);
  assert.equal(list.get(-1), 3);
  assert.equal(list.at(-3), 1);
  list.set(-2, 20);
  assert.equal(list.get(1), 20);
  assert.equal(list.at(3), undefined);
  assert.equal(list.at(-4), undefined);
  assert.throws(() => list.get(3), { name: "RangeError", message: "index 3 is out of range for a list of 3 items" });
  assert.throws(() => list.get(-4), RangeError);
  assert.throws(() => list.set(3, 1), RangeError);
});

test("an index that is not a whole number is refused", () => {
  using list = new ShareableList([1, 2, 3]);
  assert.throws(() => list.get(1.5), { name: "RangeError", message: /whole number, got 1.5/ });
  assert.throws(() => list.at(NaN), RangeError);
  assert.throws(() => list.get("1" as unknown as number), { name: "TypeError", message: /index must be a number/ });
  assert.throws(() => list.set(1n as unknown as number, 1), TypeError);
});

test("a value of an unsupported kind is a TypeError naming the item, and nothing is created", () => {
  const unsupported = [undefined, {}, [], Symbol("s"), () => 1, new Date(0), new Uint16Array(1), new ArrayBuffer(8)];
  for (const value of unsupported) {
    const name = uniqueName("list");
    try {
      assert.throws(() => new ShareableList([1, "two", value as ListValue], { name }), {
        name: "TypeError",
        message: /^item 2 is /,
      });
      assert.equal(segmentExists(name), false);
    } finally {
      removeIfPresent(name);
    }
  }
});

test("a bigint outside int64, a lone surrogate or an item over 9,999,991 bytes is a RangeError, and nothing is created", () => {
  const cases: [ListValue, RegExp][] = [
    [2n ** 63n, /^item 1 \(9223372036854775808n\) is outside the int64 range/],
    [-(2n ** 63n) - 1n, /^item 1 .* is outside the int64 range/],
    ["a\ud800b", /^item 1 is a string with a lone surrogate at 1/],
    ["\udc00", /lone surrogate/],
    ["x".repeat(9_999_992), /^item 1 is 9999992 bytes long; an item holds at most 9999991 bytes/],
  ];
  for (const [value, message] of cases) {
    const name = uniqueName("list");
    try {
      assert.throws(() => new ShareableList([0, value], { name }), { name: "RangeError", message });
      assert.equal(segmentExists(name), false);
    } finally {
      removeIfPresent(name);
    }
  }
});

test("a refused write leaves the old value, its format and every other byte as they were", () => {
  using list = new ShareableList(["short", 1, bytes(1, 2)]);
  const before = snapshot(list);
  const refused: [number, unknown, string, RegExp][] = [
    [0, "much too long", "RangeError", /^item 0: a 13-byte string does not fit its 8-byte slot/],
    [0, "ééééé", "RangeError", /^item 0: a 10-byte string/],
    [1, "123456789", "RangeError", /does not fit its 8-byte slot/],
    [2, new Uint8Array(9), "RangeError", /^item 2: a 9-byte bytes value does not fit its 8-byte slot/],
    [1, 2n ** 64n, "RangeError", /outside the int64 range/],
    [0, "\ud800", "RangeError", /lone surrogate/],
    [1, undefined, "TypeError", /^item 1 is undefined/],
    [1, { valueOf: () => 3 }, "TypeError", /^item 1 is object/],
    [2, new Int8Array(2), "TypeError", /^item 2 is object/],
  ];
  for (const [index, value, name, message] of refused) {
    assert.throws(() => list.set(index, value as ListValue), { name, message });
    assert.deepEqual(snapshot(list), before);
  }
  assert.deepEqual(list.toArray(), ["short", 1, bytes(1, 2)]);
  assert.equal(list.format, "8sq8s");
});

test("count and index compare numbers with bigints by value and bytes by content", () => {
  using list = new ShareableList([1, 1n, 1.5, "1", true, bytes(1), bytes(1), null, NaN]);
  assert.equal(list.count(1), 2);
  assert.equal(list.count(1n), 2);
  assert.equal(list.count(bytes(1)), 2);
  assert.equal(list.count(true), 1);
  assert.equal(list.count(NaN), 0);
  assert.equal(list.count(undefined), 0);
  assert.equal(list.index(1.5), 2);
  assert.equal(list.index("1"), 3);
  assert.equal(list.index(bytes(1)), 5);
  assert.equal(list.index(null), 7);
});

test("index of a value the list does not hold is a RangeError, as Python's ValueError", () => {
  using list = new ShareableList([1, "a"]);
  assert.throws(() => list.index("b"), { name: "RangeError", message: "'b' is not in the list" });
  assert.throws(() => list.index(bytes(0x27)), { name: "RangeError", message: `b"'" is not in the list` });
  assert.throws(() => list.index(undefined), { name: "RangeError", message: "undefined is not in the list" });
});

test("iteration and toArray give the items in order", () => {
  using list = new ShareableList([3, "two", null]);
  assert.deepEqual([...list], [3, "two", null]);
  assert.deepEqual(list.toArray(), [3, "two", null]);
});

test("toString and the console show Python's repr", () => {
  using list = new ShareableList([1, 2.0, true, null, "it's", bytes(0, 0x41), -0, 1e16, 1e-5], { name: uniqueName() });
  const expected =
    `ShareableList([1, 2, True, None, "it's", b'\\x00A', -0.0, 10000000000000000, 1e-05], name='${list.shm.name}')`;
  assert.equal(String(list), expected);
  const inspect = list as unknown as Record<symbol, () => string>;
  assert.equal(inspect[Symbol.for("Deno.customInspect")](), expected);
  assert.equal(inspect[Symbol.for("nodejs.util.inspect.custom")](), expected);
});

test("a float that holds an integer prints as a Python float when another process stored it as one", () => {
  using list = new ShareableList([2.5]);
  new DataView(list.shm.buf.buffer).setFloat64(list.shm.buf.byteOffset + 24, 2, true);
  assert.equal(String(list), `ShareableList([2.0], name='${list.shm.name}')`);
});

test("the empty list is 16 bytes and reads as empty", () => {
  using list = new ShareableList();
  assert.equal(list.shm.size, 16);
  assert.equal(list.length, 0);
  assert.equal(list.format, "");
  assert.deepEqual(list.toArray(), []);
  using attached = new ShareableList(null, { name: list.shm.name });
  assert.equal(attached.length, 0);
});

test("a list attached by name sees the creator's writes, and the creator sees its writes", () => {
  using created = new ShareableList([1, "text", null]);
  using attached = new ShareableList(null, { name: created.shm.name });
  assert.deepEqual(attached.toArray(), [1, "text", null]);
  created.set(0, 2.5);
  attached.set(1, "new");
  attached.set(2, true);
  assert.deepEqual(created.toArray(), [2.5, "new", true]);
  assert.deepEqual(attached.toArray(), [2.5, "new", true]);
  assert.equal(attached.format, created.format);
});

test("creating with a name uses it, and takes no sequence items from a string", () => {
  const name = uniqueName("list");
  try {
    using list = new ShareableList(["a"], { name });
    assert.equal(list.shm.name, name);
    assert.ok(segmentExists(name));
    assert.throws(() => new ShareableList("abc" as unknown as ListValue[]), {
      name: "TypeError",
      message: /not a string/,
    });
    assert.throws(() => new ShareableList(5 as unknown as ListValue[]), TypeError);
  } finally {
    removeIfPresent(name);
  }
  assert.equal(segmentExists(name), false);
});

test("options are checked before anything is created", () => {
  assert.throws(() => new ShareableList([1], { size: 10 } as never), {
    name: "TypeError",
    message: /^unknown option 'size' \(known: name, track, reserve\)$/,
  });
  assert.throws(() => new ShareableList([1], "name" as never), {
    name: "TypeError",
    message: /^options must be an object/,
  });
  assert.throws(() => new ShareableList([1], [] as never), {
    name: "TypeError",
    message: /^options must be an object .*, got an array$/,
  });
  assert.throws(() => new ShareableList([1], { name: "a/b" }), TypeError);
  assert.throws(() => new ShareableList([1], { track: "yes" as never }), TypeError);
});

test("attaching to a name with no segment is SharedMemoryError ENOENT", () => {
  const name = uniqueName("missing");
  assert.throws(() => new ShareableList(null, { name }), (error) => {
    assert.ok(error instanceof SharedMemoryError);
    assert.equal(error.code, "ENOENT");
    return true;
  });
});

test("after close every read and write throws a TypeError naming the list, and closing twice is fine", () => {
  using list = new ShareableList([1, "a"]);
  const name = list.shm.name;
  list.close();
  list.close();
  const closed = { name: "TypeError", message: `ShareableList '${name}' is closed` };
  assert.throws(() => list.get(0), closed);
  assert.throws(() => list.at(0), closed);
  assert.throws(() => list.set(0, 1), closed);
  assert.throws(() => list.format, closed);
  assert.throws(() => list.toArray(), closed);
  assert.equal(String(list), `ShareableList(<closed>, name='${name}')`);
  assert.equal(list.length, 2);
});

test("a list closed through its shm throws the same clear error instead of reading freed memory", () => {
  using list = new ShareableList([1]);
  list.shm.close();
  assert.throws(() => list.get(0), { name: "TypeError", message: `ShareableList '${list.shm.name}' is closed` });
});

test("dispose of a list that created its segment unlinks it; dispose of an attached list only closes", () => {
  const name = uniqueName("list");
  try {
    {
      using created = new ShareableList([1], { name });
      {
        using attached = new ShareableList(null, { name });
        assert.equal(attached.get(0), 1);
      }
      assert.ok(segmentExists(name));
      assert.equal(created.get(0), 1);
    }
    assert.equal(segmentExists(name), false);
  } finally {
    removeIfPresent(name);
  }
});

test("a list whose segment was already unlinked disposes without an error", () => {
  const name = uniqueName("list");
  try {
    using list = new ShareableList([1], { name });
    list.shm.unlink();
    assert.equal(segmentExists(name), false);
    assert.equal(list.get(0), 1);
  } finally {
    removeIfPresent(name);
  }
});

test("a list made with track: false is not registered for cleanup at exit; by default it is", () => {
  using tracked = new ShareableList([1]);
  using untracked = new ShareableList([1], { track: false });
  assert.ok(trackedNames().includes(tracked.shm.name));
  assert.ok(!trackedNames().includes(untracked.shm.name));
  assert.equal(untracked.shm.created, true);
});

test("MalformedListError carries the segment's name and the reason", () => {
  const error = new MalformedListError("psm_x", "item 0 has an unknown format 'z'");
  assert.equal(error.name, "MalformedListError");
  assert.equal(error.segment, "psm_x");
  assert.equal(error.reason, "item 0 has an unknown format 'z'");
  assert.match(error.message, /'psm_x' does not hold a well-formed ShareableList: item 0 has an unknown format 'z'/);
});

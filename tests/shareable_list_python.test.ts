/**
 * ShareableList against CPython 3.11's own: the same bytes for the same values, lists made in one
 * language read and changed in the other, and random lists through Python and back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { type ListValue, ShareableList } from "../mod.ts";
import { pythonFloat } from "../src/shareable_list.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import { ROOT } from "./helpers/processes.ts";
import {
  cpythonCapacity,
  expected,
  fromHex,
  ourCapacity,
  PythonPeer,
  tag,
  tagFloat,
  untag,
} from "./fixtures/list_peer.ts";
import { toHex } from "./helpers/hex.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

const WORKED_EXAMPLE: ListValue[] = [1, 2.5, true, null, "héllo", bytes(0x61, 0x62, 0), -7];

/** Lists whose strings have as many UTF-8 bytes as CPython's capacity allows, so both lay them out alike. */
const LISTS: ListValue[][] = [
  [],
  WORKED_EXAMPLE,
  ["", "abcdefgh", "a\0\0"],
  [0, -1, 2 ** 53 - 1, -(2 ** 53), 2n ** 63n - 1n, -(2n ** 63n), 2 ** 62, 5n],
  [0.5, -0, NaN, Infinity, -Infinity, 1e300, 5e-324, 1e16, -1.5e-7],
  [true, false, null, null],
  [bytes(), new Uint8Array(7).fill(1), new Uint8Array(8).fill(255), bytes(0, 0, 0), bytes(0, 1, 0)],
  ["x".repeat(100), "tab\there", "quote'\"", "\0lead", "日本", "😀", "\u{feff}bom"],
  [new Uint8Array(1000).fill(7), 1, "y".repeat(9)],
];

/** Runs `body` with a python3 peer that is always closed. */
async function withPeer(body: (peer: PythonPeer) => Promise<void>): Promise<void> {
  const peer = new PythonPeer();
  try {
    await body(peer);
  } finally {
    await peer.close();
  }
}

/** The segment of `list`, as hex. */
function hexOf(list: ShareableList): string {
  return toHex(list.shm.buf);
}

function parseFixture(text: string): string {
  return text.split("\n").filter((line) => /^ *\d+:/.test(line)).map((line) =>
    line.replace(/^ *\d+:/, "").replace(/#.*/, "").replace(/\s+/g, "")
  ).join("");
}

test("the worked example's 191 bytes are CPython's, byte for byte", async () => {
  const fixture = parseFixture(readFileSync(`${ROOT}tests/fixtures/list_worked_example.hex`, "utf8"));
  using list = new ShareableList(WORKED_EXAMPLE);
  assert.equal(list.shm.size, 191);
  assert.equal(list.format, "qdxxxxxxx?xxxxxx?x8s8sq");
  assert.equal(hexOf(list), fixture);
  await withPeer(async (peer) => assert.equal(await peer.layout(WORKED_EXAMPLE), fixture));
});

test("for each of a set of lists, TypeScript writes exactly the bytes CPython writes", async () => {
  await withPeer(async (peer) => {
    for (const values of LISTS) {
      using list = new ShareableList(values);
      assert.equal(hexOf(list), await peer.layout(values), `for ${list}`);
    }
  });
});

test("after the same writes, including kinds changing slots, the bytes are still CPython's", async () => {
  const start: ListValue[] = [1, "abc", 2.5, bytes(0x78, 0x79), null, "0123456789abcdef", true];
  const writes: [number, ListValue][] = [
    [0, "str!"],
    [1, 42],
    [2, true],
    [3, null],
    [4, bytes(1, 2, 3, 4, 5, 6, 7, 8)],
    [5, 7.25],
    [5, "again"],
    [1, "x"],
    [6, -(2n ** 40n)],
    [-1, bytes()],
  ];
  await withPeer(async (peer) => {
    using list = new ShareableList(start);
    for (const [index, value] of writes) list.set(index, value);
    assert.equal(list.format, "8s8sxxxxxxx?xxxxxx?x8s24s8s");
    assert.equal(hexOf(list), await peer.layout(start, writes));
  });
});

test("a list Python makes is read and changed in TypeScript, and Python reads the changes", async () => {
  const name = uniqueName("list");
  const values: ListValue[] = [7, 0.25, false, null, "héllo wörld", bytes(1, 2, 3), 2n ** 60n];
  try {
    await withPeer(async (peer) => {
      await peer.create(name, values);
      {
        using list = new ShareableList(null, { name });
        assert.deepEqual(list.toArray(), values.map(expected));
        assert.equal(list.length, 7);
        list.set(0, -8);
        list.set(1, "eight");
        list.set(2, true);
        list.set(3, 3.5);
        list.set(4, "shorter");
        list.set(5, bytes(9, 9));
        list.set(-1, -(2n ** 62n));
      }
      const seen = await peer.read(name);
      assert.deepEqual(seen.values.map(untag), [-8, "eight", true, 3.5, "shorter", bytes(9, 9), -(2n ** 62n)]);
      assert.equal(seen.format, "q8sxxxxxxx?d16s8sq");
    });
  } finally {
    removeIfPresent(name);
  }
  assert.equal(segmentExists(name), false);
});

test("a list TypeScript makes is read and changed in Python, and TypeScript reads the changes", async () => {
  const values: ListValue[] = [1, 2.5, true, null, "héllo", bytes(0x61, 0x62), -7, "日本語テキスト"];
  let name = "";
  await withPeer(async (peer) => {
    using list = new ShareableList(values);
    name = list.shm.name;
    const seen = await peer.read(name);
    assert.deepEqual(seen.values.map(untag), values.map(expected));
    assert.equal(seen.repr, String(list));
    const errors = await peer.write(name, [[0, "one"], [1, 2], [2, null], [3, false], [4, bytes(0)], [6, 1.0e-9]]);
    assert.deepEqual(errors, [null, null, null, null, null, null]);
    assert.deepEqual(list.toArray(), ["one", 2, null, false, bytes(), bytes(0x61, 0x62), 1e-9, "日本語テキスト"]);
    assert.equal(list.format, "8sqxxxxxx?xxxxxxxx?8s8sd24s");
  });
  assert.equal(segmentExists(name), false);
});

test("a multi-byte string CPython would truncate gets a slot from its UTF-8 length, and Python reads it whole", async () => {
  const values: ListValue[] = ["ééééé", "€€€€€€€", "a😀😀😀"];
  await withPeer(async (peer) => {
    using list = new ShareableList(values);
    assert.equal(list.format, "16s24s16s");
    assert.deepEqual((await peer.read(list.shm.name)).values.map(untag), values);
    // CPython sizes the same values by characters: 8-byte slots, so its own list loses bytes.
    const cpython = fromHex(await peer.layout(values));
    const dataStart = 8 * (values.length + 2);
    assert.equal(new TextDecoder().decode(cpython.subarray(dataStart, dataStart + 8)), "éééé");
  });
});

test("a string too long for its slot is refused on both sides, and the old value stays on both", async () => {
  await withPeer(async (peer) => {
    using list = new ShareableList(["short", 1]);
    assert.throws(() => list.set(0, "much too long"), RangeError);
    const errors = await peer.write(list.shm.name, [[0, "much too long"], [1, "123456789"]]);
    assert.deepEqual(errors, [
      "ValueError: bytes/str item exceeds available storage",
      "ValueError: bytes/str item exceeds available storage",
    ]);
    assert.deepEqual(list.toArray(), ["short", 1]);
  });
});

test("toString is Python's repr of the same list", async () => {
  const values: ListValue[] = [
    1,
    -0,
    2.0e-5,
    1e16,
    123456789.125,
    0.1,
    NaN,
    -Infinity,
    2n ** 63n - 1n,
    true,
    null,
    "it's",
    'say "hi"',
    "both ' and \"",
    "tab\t nl\n cr\r back\\ bell\u0007 del\u007f nbsp\u00a0 zwsp\u200b lsep\u2028 é 😀",
    bytes(0, 0x27, 0x5c, 0x7f, 0x80, 0xff, 0x41, 0x09),
    bytes(0x27, 0x22),
  ];
  await withPeer(async (peer) => {
    using list = new ShareableList(values);
    assert.equal(String(list), (await peer.read(list.shm.name)).repr);
  });
});

/** Any value the library stores: every kind, edge numbers included. */
const anyValue: fc.Arbitrary<ListValue> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("\0", "a", "é", "€", "😀"), maxLength: 20 }),
  fc.uint8Array({ maxLength: 30 }),
  fc.uint8Array({ maxLength: 12 }).map((b) => Uint8Array.from([...b, 0, 0])),
);

test("random lists made in TypeScript read the same in Python, and Python rewriting every item changes no byte", async () => {
  await withPeer(async (peer) => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyValue, { maxLength: 16 }), async (values) => {
        using list = new ShareableList(values);
        const before = hexOf(list);
        const seen = await peer.read(list.shm.name);
        assert.deepEqual(seen.values.map(untag), values.map(expected));
        await peer.rewrite(list.shm.name);
        assert.equal(hexOf(list), before);
        assert.deepEqual(list.toArray(), values.map(expected));
      }),
      { numRuns: 150 },
    );
  });
});

/** Whether CPython keeps a str whole: its UTF-8 fits the capacity CPython counts from its characters. */
function cpythonKeepsWhole(value: ListValue): boolean {
  return typeof value !== "string" || new TextEncoder().encode(value).length <= cpythonCapacity(value);
}

test("random lists made in Python read the same in TypeScript, in CPython's bytes when both size slots alike", async () => {
  const value = anyValue.filter(cpythonKeepsWhole);
  await withPeer(async (peer) => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 16 }), async (values) => {
        const name = uniqueName("plist");
        try {
          await peer.create(name, values);
          using list = new ShareableList(null, { name });
          assert.deepEqual(list.toArray(), values.map(expected));
          const alike = values.every((v) =>
            !(typeof v === "string" || v instanceof Uint8Array) || cpythonCapacity(v) === ourCapacity(v)
          );
          if (alike) {
            using ours = new ShareableList(values);
            assert.equal(hexOf(ours), hexOf(list));
          }
          list.shm.unlink();
        } finally {
          removeIfPresent(name);
        }
        assert.equal(segmentExists(name), false);
      }),
      { numRuns: 150 },
    );
  });
});

test("random floats, ints and strings print in toString as Python's repr prints them", async () => {
  const printable: fc.Arbitrary<ListValue> = fc.oneof(
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    // Code points below U+0800 have kept their Unicode category since before Python 3.11's Unicode 14.
    fc.string({ unit: fc.integer({ min: 0, max: 0x7ff }).map((c) => String.fromCodePoint(c)), maxLength: 12 }),
    fc.uint8Array({ maxLength: 12 }),
  );
  await withPeer(async (peer) => {
    await fc.assert(
      fc.asyncProperty(fc.array(printable, { maxLength: 8 }), async (values) => {
        using list = new ShareableList(values);
        assert.equal(String(list), (await peer.read(list.shm.name)).repr);
      }),
      { numRuns: 150 },
    );
  });
});

test("pythonFloat prints the float Python prints, digit for digit", async () => {
  const edges = [0, -0, 1, 100, 1e16, 9999999999999998, 1e-4, 9.999e-5, 1e22, 0.1, 5e-324, Number.MAX_VALUE];
  const floats = fc.sample(fc.double(), 500).concat(edges);
  await withPeer(async (peer) => {
    assert.deepEqual(floats.map(pythonFloat), await peer.reprs(floats.map(tagFloat)));
  });
});

test("the tests' own tagging carries every value to Python and back unchanged", () => {
  fc.assert(fc.property(anyValue, (value) => {
    const back = untag(tag(value));
    assert.deepEqual(back, typeof value === "string" || value instanceof Uint8Array ? value : expected(value));
  }));
});

/**
 * The `.npy` header (src/npy.ts) in one process: the bytes written for every dtype and shape, what is
 * read back, arrays attached by name, and every kind of malformed header refused with its reason.
 * numpy's own bytes and Python's parser are compared in tests/python_npy.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { DTYPES, MalformedArrayError, SharedArray, SharedMemory } from "../mod.ts";
import { encodeHeader, MAX_HEADER, readHeader } from "../src/npy.ts";
import { withName } from "./helpers/segments.ts";
import { SHAPES } from "./fixtures/array_patterns.ts";

const int32 = DTYPES.get("int32")!;

/** The header of `bytes` followed by `data` more bytes, read as a segment of that size. */
function read(bytes: Uint8Array, data = 0) {
  const size = bytes.length + data;
  return readHeader((offset, length) => bytes.subarray(offset, offset + length), size, "psm_test");
}

/** A version 1.0 header holding `text` (the dict and its padding) as Latin-1 bytes. */
function header(text: string, version = [1, 0]): Uint8Array {
  const prefix = version[0] === 1 ? 10 : 12;
  const bytes = new Uint8Array(prefix + text.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version[0], version[1]]);
  const view = new DataView(bytes.buffer);
  if (prefix === 10) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) bytes[prefix + i] = text.charCodeAt(i);
  return bytes;
}

/** A dict padded with spaces and "\n" to a 64-byte boundary, as a version 1.0 header. */
function padded(dict: string): Uint8Array {
  const length = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  return header(dict.padEnd(length - 1) + "\n");
}

test("the header of a (2, 3) int32 array is the 128 bytes numpy writes: magic, 1.0, length 118, the dict, spaces, \\n", () => {
  const bytes = encodeHeader(int32, [2, 3]);
  assert.equal(bytes.length, 128);
  assert.deepEqual([...bytes.subarray(0, 10)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
  const text = String.fromCharCode(...bytes.subarray(10));
  assert.equal(text, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117) + "\n");
});

test("shapes are written as Python tuples: () for 0-d, (5,) for 1-d, (2, 0, 3)", () => {
  const dict = (shape: number[]) => String.fromCharCode(...encodeHeader(int32, shape).subarray(10)).split(", }")[0];
  assert.equal(dict([]), "{'descr': '<i4', 'fortran_order': False, 'shape': ()");
  assert.equal(dict([5]), "{'descr': '<i4', 'fortran_order': False, 'shape': (5,)");
  assert.equal(dict([2, 0, 3]), "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 0, 3)");
});

test("every dtype and shape reads back as written, with the data at a multiple of 64", () => {
  for (const info of DTYPES.values()) {
    for (const shape of [...SHAPES, [123456789012, 0], Array(64).fill(1)]) {
      const bytes = encodeHeader(info, shape);
      assert.equal(bytes.length % 64, 0);
      assert.equal(bytes[bytes.length - 1], 0x0a);
      const nbytes = shape.reduce((a, b) => a * b, 1) * info.itemsize;
      const got = read(bytes, nbytes);
      assert.deepEqual([got.info, got.shape, got.offset], [info, shape, bytes.length]);
    }
  }
});

test("a header longer than 65,535 bytes is written as version 2.0 with a 4-byte length, and reads back", () => {
  const shape = Array(30_000).fill(1);
  const bytes = encodeHeader(int32, shape);
  assert.deepEqual([bytes[6], bytes[7]], [2, 0]);
  assert.equal(new DataView(bytes.buffer).getUint32(8, true), bytes.length - 12);
  assert.equal(bytes.length % 64, 0);
  assert.deepEqual(read(bytes, 4).shape, shape);
  assert.throws(() => encodeHeader(int32, Array(MAX_HEADER / 2).fill(1)), RangeError);
});

test("an array made in a segment of its own starts with its header, and attaches by its name alone", () => {
  withName("npy", (name) => {
    using made = SharedArray.from([[1, 2, 3], [4, 5, 6]], { name, dtype: "int32" });
    assert.deepEqual(made.shm.view(0, 128), encodeHeader(int32, [2, 3]));
    assert.equal(made.offset, 128);
    assert.equal(made.shm.size, 128 + 24);
    using attached = SharedArray.attach(name);
    assert.equal(attached.dtype, "int32");
    assert.deepEqual(attached.shape, [2, 3]);
    assert.equal(attached.offset, 128);
    assert.equal(attached.shm.created, false);
    attached.set(1, 2, 60);
    assert.equal(made.get(1, 2), 60);
    // the descriptor still works, and its offset is the header's length
    assert.deepEqual(made.descriptor, { kind: "array", name, dtype: "int32", shape: [2, 3], offset: 128 });
    using described = SharedArray.attach(JSON.stringify(made));
    assert.deepEqual(described.toList(), [[1, 2, 3], [4, 5, 60]]);
  });
});

test("0-d and empty arrays of every dtype attach by name with their shape", () => {
  for (const dtype of DTYPES.keys()) {
    for (const shape of [[], [0], [2, 0, 3]]) {
      withName("npy", (name) => {
        using made = SharedArray.zeros(shape, dtype, { name });
        assert.equal(made.shm.size, made.offset + made.nbytes);
        using attached = SharedArray.attach(name);
        assert.deepEqual([attached.dtype, attached.shape, attached.size], [dtype, shape, made.size]);
      });
    }
  }
});

test("attach by name uses options.shm when given, and leaves it open", () => {
  withName("npy", (name) => {
    using made = SharedArray.from([1.5, 2.5], { name });
    const shm = new SharedMemory(name);
    const attached = SharedArray.attach(name, { shm });
    assert.deepEqual(attached.toList(), [1.5, 2.5]);
    attached[Symbol.dispose]();
    assert.equal(shm.closed, false);
    shm.close();
    assert.throws(() => SharedArray.attach(name, { shm }), { name: "TypeError", message: /is closed/ });
    assert.throws(() => SharedArray.attach("psm_other", { shm: made.shm }), {
      name: "RangeError",
      message: new RegExp(`options.shm is segment '${name}' but the descriptor names 'psm_other'`),
    });
  });
});

test("attach accepts descriptors with and without kind, and refuses another kind", () => {
  withName("npy", (name) => {
    using made = SharedArray.from([7, 8], { name, dtype: "uint8" });
    const { kind: _, ...bare } = made.descriptor;
    using withoutKind = SharedArray.attach(bare);
    assert.deepEqual(withoutKind.toList(), [7, 8]);
    assert.throws(() => SharedArray.attach({ ...made.descriptor, kind: "list" } as never), {
      name: "TypeError",
      message: "the descriptor is of a 'list', not of an 'array'",
    });
    assert.throws(() => SharedArray.attach({ ...made.descriptor, kind: 1 } as never), TypeError);
  });
});

test("a segment made without a header (a caller's segment, CPython's SharedMemory) is refused by name, and closed again", () => {
  withName("npy", (name) => {
    using shm = new SharedMemory({ create: true, size: 64, name });
    SharedArray.from([1, 2], { shm, dtype: "int32" });
    assert.throws(() => SharedArray.attach(name), (error: unknown) => {
      assert.ok(error instanceof MalformedArrayError);
      assert.equal(error.segment, name);
      assert.match(error.reason, /does not start with the .npy magic string \\x93NUMPY \(found \\x01\\x00/);
      assert.match(
        error.message,
        new RegExp(`^shared memory segment '${name}' does not hold a well-formed .npy array`),
      );
      return true;
    });
  });
});

/** Malformed headers and the reason each is refused with. */
const MALFORMED: [string, Uint8Array, RegExp, number?][] = [
  ["a segment too small for any header", new Uint8Array([0x93, 0x4e, 0x55]), /the segment is 3 bytes, too small/],
  ["the wrong magic", padded("{}").map((b, i) => i === 1 ? 0x6e : b), /magic string .* \(found \\x93\\x6e/],
  ["an unknown version", header("{}\n", [4, 0]), /unsupported .npy format version 4.0 \(known: 1.0, 2.0, 3.0\)/],
  ["version 1.1", header("{}\n", [1, 1]), /unsupported .npy format version 1.1/],
  [
    "a length past the end of the segment",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }").subarray(0, 60),
    /the header length 118 runs past the end of the 60-byte segment/,
  ],
  ["no newline at the end", header("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }  "), /newline/],
  [
    "Fortran order",
    padded("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }"),
    /fortran_order is True: arrays in Fortran order are not supported/,
    24,
  ],
  ["fortran_order as a number", padded("{'descr': '<i4', 'fortran_order': 0, 'shape': (1,), }"), /must be False/, 4],
  ["a big-endian dtype", padded("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }"), /big-endian/, 4],
  [
    "an unknown dtype",
    padded("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"),
    /descr '<c16' is not a supported dtype \(known: \|b1, /,
    16,
  ],
  [
    "a structured dtype",
    padded("{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (1,), }"),
    /structured dtype/,
    8,
  ],
  ["a missing key", padded("{'descr': '<i4', 'fortran_order': False, }"), /the header has no 'shape'/],
  [
    "an unknown key",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'x': 1, }"),
    /unknown key 'x' \(known: descr, fortran_order, shape\)/,
    4,
  ],
  [
    "a key twice",
    padded("{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (1,), }"),
    /key 'descr' appears twice/,
    4,
  ],
  ["a 1-d shape without its comma", padded("{'descr': '<i4', 'fortran_order': False, 'shape': (5), }"), /\(5,\)/, 20],
  ["a negative dimension", padded("{'descr': '<i4', 'fortran_order': False, 'shape': (-1,), }"), /whole number/],
  ["a fractional dimension", padded("{'descr': '<i4', 'fortran_order': False, 'shape': (1.5,), }"), /expected ','/],
  ["a shape as a list", padded("{'descr': '<i4', 'fortran_order': False, 'shape': [1], }"), /as a tuple/],
  [
    "a shape too large to count in bytes",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (9007199254740993,), }"),
    /shape\[0\] is 9007199254740993, more than 9007199254740991/,
  ],
  [
    "a shape of more bytes than a number counts",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (9007199254740991, 2), }"),
    /needs more than 9007199254740991 bytes/,
  ],
  [
    "data past the end of the segment",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"),
    /the header describes 24 bytes of int32 data at byte 128, past the end of the 148-byte segment/,
    20,
  ],
  [
    "data not aligned to its element size",
    header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n"),
    /the data starts at byte 68, not a multiple of 8/,
    8,
  ],
  [
    "text after the dict",
    padded("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), } x"),
    /unexpected 'x *' after the dict/,
    4,
  ],
  [
    "an escape in a string",
    padded("{'descr': '<i\\x34', 'fortran_order': False, 'shape': (1,), }"),
    /escape sequences/,
    4,
  ],
  ["an unclosed string", padded("{'descr: 1}"), /expected ':' after|not closed/],
  ["a newline inside the dict", header("{'descr': '<i4',\n'fortran_order': False, 'shape': (1,), }\n"), /expected/],
  ["invalid UTF-8 in a 3.0 header", header("{'descr': '\xff'}\n", [3, 0]), /not valid UTF-8/],
];

for (const [what, bytes, reason, data] of MALFORMED) {
  test(`a header with ${what} is a MalformedArrayError saying so`, () => {
    assert.throws(() => read(bytes, data ?? 0), (error: unknown) => {
      assert.ok(error instanceof MalformedArrayError, String(error));
      assert.match(error.reason, reason);
      return true;
    });
  });
}

test("a Python writer's other spellings are read: no spaces, double quotes, keys in any order, no trailing comma", () => {
  for (
    const dict of [
      "{'descr':'<i4','fortran_order':False,'shape':(2,3)}",
      '{"shape": (2, 3,), "fortran_order": False, "descr": "<i4"}',
      "{ 'fortran_order' : False , 'shape' : ( 2 , 3 ) , 'descr' : '<i4' , }",
    ]
  ) {
    const got = read(padded(dict), 24);
    assert.deepEqual([got.info.name, got.shape], ["int32", [2, 3]]);
  }
});

test("a malformed header in a real segment is refused by attach, which leaves no mapping of its own behind", () => {
  withName("npy", (name) => {
    using made = SharedArray.from([1, 2, 3], { name, dtype: "int16" });
    const mappings = () =>
      readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.endsWith(`/${name}`));
    const before = mappings().length;
    assert.ok(before >= 1, "the creator's own mapping shows in /proc/self/maps");
    made.shm.buf[6] = 9; // version 9.0
    assert.throws(() => SharedArray.attach(name), { name: "MalformedArrayError", message: /version 9.0/ });
    assert.equal(mappings().length, before);
    assert.throws(() => SharedArray.attach(`${name}_missing`), { name: "SharedMemoryError", code: "ENOENT" });
    made.shm.buf[6] = 1;
    using again = SharedArray.attach(name);
    assert.deepEqual(again.toList(), [1, 2, 3]);
  });
});

test("fuzz: a header with bytes changed anywhere either reads as a shape and dtype that fit the segment, or is a MalformedArrayError", () => {
  const valid = encodeHeader(DTYPES.get("float64")!, [3, 4]);
  const data = 96;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: -valid.length, max: 200 }),
      (changes, resize) => {
        const bytes = valid.slice();
        for (const [at, byte] of changes) bytes[at] = byte;
        const size = Math.max(0, valid.length + data + resize);
        const segment = new Uint8Array(size);
        segment.set(bytes.subarray(0, size));
        try {
          const got = readHeader((offset, length) => segment.subarray(offset, offset + length), size, "psm_fuzz");
          const nbytes = got.shape.reduce((a, b) => a * b, 1) * got.info.itemsize;
          assert.ok(got.offset + nbytes <= size);
          assert.equal(got.offset % got.info.itemsize, 0);
        } catch (error) {
          assert.ok(error instanceof MalformedArrayError, String(error));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

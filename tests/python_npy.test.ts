/**
 * The `.npy` header against numpy and against shm_interop's own reader: the same bytes as numpy's
 * `np.save` for every dtype and shape, from TypeScript and from Python; the same verdict and the same
 * reason from both readers on thousands of generated headers, most of them malformed; the same layouts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DTYPES, MalformedArrayError, SharedArray } from "../mod.ts";
import { encodeHeader, readHeader } from "../src/npy.ts";
import { toHex } from "./helpers/hex.ts";
import { ALL_DTYPES, SHAPES } from "./fixtures/array_patterns.ts";
import { pythonFixture, SLOW } from "./fixtures/python_interop.ts";

const python = <T>(command: string, jobs: unknown): T =>
  JSON.parse(pythonFixture("python_npy.py", [command], JSON.stringify(jobs))) as T;

test(
  "for every dtype and shape, TypeScript and shm_interop write exactly the header numpy's np.save writes",
  SLOW,
  () => {
    const shapes = [...SHAPES, [1], [123456789012, 0], [0, 5], Array(32).fill(1), [10 ** 15, 0, 2]];
    const specs = ALL_DTYPES.flatMap((dtype) => shapes.map((shape) => ({ dtype, shape })));
    const answers = python<[string, string][]>("headers", specs);
    assert.equal(answers.length, specs.length);
    specs.forEach(({ dtype, shape }, i) => {
      const ours = toHex(encodeHeader(DTYPES.get(dtype)!, shape));
      assert.deepEqual(answers[i], [ours, ours], `${dtype} ${JSON.stringify(shape)}`);
    });
  },
);

/** What a reader made of a header: the array it describes, or the reason it refused it. */
type Verdict = { dtype: string; shape: number[]; offset: number } | { reason: string };

function tsVerdict(bytes: Uint8Array, size: number): Verdict {
  const segment = new Uint8Array(size);
  segment.set(bytes.subarray(0, size));
  try {
    const got = readHeader((offset, length) => segment.subarray(offset, offset + length), size, "psm_test");
    return { dtype: got.info.name, shape: got.shape, offset: got.offset };
  } catch (error) {
    if (!(error instanceof MalformedArrayError)) throw error;
    return { reason: error.reason };
  }
}

/** Mostly `good`, sometimes one of `bad`: each token of a header is wrong now and then. */
const mostly = <T>(good: fc.Arbitrary<T>, ...bad: T[]): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });

/** Headers as a writer might spell them, rightly or wrongly: each token drawn from good and bad spellings. */
const space = fc.constantFrom("", " ", "  ");
const quoted = (word: string) => mostly(fc.constantFrom(`'${word}'`, `"${word}"`), `'${word}`, `${word}`);
const descr = mostly(
  fc.constantFrom(...[...DTYPES.values()].map((info) => `'${info.typestr}'`), '"<u8"'),
  "'>i4'",
  "'<c16'",
  "[('x', '<f8')]",
  "'<i\\x34'",
  "'<f8",
  "'é'",
  "''",
);
const fortran = mostly(fc.constant("False"), "True", "0", "Fals", "None");
const dimension = mostly<number | string>(fc.nat(7), "07", "-1", "1.5", "9007199254740993", "", "x");
const shapeText = fc.tuple(
  fc.array(dimension, { maxLength: 4 }),
  fc.boolean(),
  mostly(fc.constant("()"), "[]", "("),
  space,
)
  .map(([dims, comma, brackets, s]) =>
    brackets[0] + dims.join(`,${s}`) + (comma && dims.length > 0 ? "," : "") + (brackets[1] ?? "")
  );
const entry = (key: string, value: fc.Arbitrary<string>) =>
  fc.tuple(quoted(key), space, space, value).map(([k, s1, s2, v]) => `${k}${s1}:${s2}${v}`);
const entries = fc.tuple(
  entry("descr", descr),
  entry("fortran_order", fortran),
  entry("shape", shapeText),
  mostly(fc.constant(""), "'x': 1", "'descr': '<i4'", "drop"),
).chain(([d, f, s, extra]) => {
  const list = [d, f, s];
  if (extra === "drop") list.pop();
  else if (extra) list.push(extra);
  return fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length });
});
const dictText = fc.tuple(entries, space, fc.boolean(), mostly(fc.constant(""), " x", "\n", "}")).map(
  ([list, s, trailing, after]) => `{${s}${list.join(`,${s}`)}${trailing ? "," : ""}${s}}${after}`,
);
const generated = fc.tuple(
  dictText,
  mostly<number[]>(fc.constantFrom([1, 0], [2, 0], [3, 0]), [1, 1], [0, 0], [4, 0]),
  mostly(fc.constant("newline"), "none", "early"),
  mostly(fc.constant(0), -3, -1, 1, 2), // added to the length field
  mostly(fc.integer({ min: 0, max: 200 }), -1, -10, -70), // bytes of data after the header
  mostly(fc.constant([] as [number, number][]), [[0, 0x92]], [[6, 9]], [[9, 0xff]], [[20, 0x27]]),
).map(([dict, version, ending, lengthDelta, data, flips]) => {
  const prefix = version[0] === 1 || version[0] === 0 ? 10 : 12;
  const body = ending === "early" ? `${dict}\n    ` : dict;
  const length = Math.ceil((prefix + body.length + 1) / 64) * 64 - prefix;
  const text = ending === "none" ? body.padEnd(length) : body.padEnd(length - 1) + "\n";
  const utf8 = new TextEncoder().encode(text);
  const bytes = new Uint8Array(prefix + utf8.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, ...version]);
  const field = utf8.length + lengthDelta;
  const view = new DataView(bytes.buffer);
  if (prefix === 10) view.setUint16(8, Math.max(field, 0), true);
  else view.setUint32(8, Math.max(field, 0), true);
  bytes.set(utf8, prefix);
  for (const [at, byte] of flips) if (at < bytes.length) bytes[at] = byte;
  return { bytes, size: Math.max(bytes.length + data, 0) };
});

test(
  "fuzz: on thousands of generated headers, TypeScript and shm_interop give the same array or the same reason",
  SLOW,
  () => {
    const seed = Date.now() | 0;
    const cases = fc.sample(generated, { numRuns: 3000, seed });
    const answers = python<Verdict[]>("read", cases.map(({ bytes, size }) => [toHex(bytes), size]));
    const ours = cases.map(({ bytes, size }) => tsVerdict(bytes, size));
    const differ = ours.flatMap((verdict, i) =>
      JSON.stringify(verdict) === JSON.stringify(answers[i]) ? [] : [
        `${JSON.stringify(String.fromCharCode(...cases[i].bytes))} (size ${cases[i].size}): TypeScript ${
          JSON.stringify(verdict)
        }, Python ${JSON.stringify(answers[i])}`,
      ]
    );
    assert.deepEqual(differ.slice(0, 5), [], `seed ${seed}`);
    // the generator reaches both sides: headers read, and headers refused for many different reasons
    const accepted = ours.filter((verdict) => "dtype" in verdict).length;
    const reasons = new Set(ours.flatMap((verdict) => "reason" in verdict ? [verdict.reason.split(" ")[0]] : []));
    assert.ok(accepted > 50, `only ${accepted} accepted (seed ${seed})`);
    assert.ok(reasons.size >= 8, `only ${[...reasons]} (seed ${seed})`);
  },
);

test("layout gives the same offsets and size in Python as SharedArray.layout, for random lists of arrays", SLOW, () => {
  const specs = fc.array(
    fc.record({
      shape: fc.array(fc.nat(5), { maxLength: 3 }),
      dtype: fc.constantFrom(...ALL_DTYPES, ...[...DTYPES.values()].map((info) => info.typestr)),
    }),
    { maxLength: 8 },
  );
  const lists = fc.sample(specs, 300);
  const answers = python<unknown[]>("layout", lists);
  assert.deepEqual(answers, lists.map((list) => SharedArray.layout(list)));
});

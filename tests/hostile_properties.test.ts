/**
 * Properties over hostile values (Proxies, lying lengths, detached buffers, subclasses, spoofed
 * constructors, cycles): `ShareableList.set()` and `SharedArray.from()` either throw a TypeError or
 * RangeError and leave everything as it was (every item unchanged, no segment made), or write exactly
 * what the real object holds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ShareableList, SharedArray, SharedMemory } from "../mod.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

/** A value to try, made fresh for each run, and what a correct write stores: its real bytes or elements. */
interface Case {
  label: string;
  make: () => unknown;
  /** The real content, or undefined when the value must be refused whatever the slot. */
  real: number[] | undefined;
}

class Bytes extends Uint8Array {}
class Vec extends Float64Array {}

function detached<T extends ArrayBufferView>(view: T): T {
  (view.buffer as ArrayBuffer).transfer();
  return view;
}

function closedView(): Uint8Array {
  const shm = new SharedMemory({ create: true, size: 16, name: uniqueName("closedview") });
  const view = shm.buf;
  shm[Symbol.dispose]();
  return view;
}

function withOwn<T extends object>(target: T, key: string, value: unknown): T {
  Object.defineProperty(target, key, { value });
  return target;
}

const byteCases = fc.tuple(fc.uint8Array({ maxLength: 24 }), fc.nat({ max: 40 })).chain(([bytes, fake]) => {
  const real = [...bytes];
  return fc.constantFrom<Case>(
    { label: "a Uint8Array", make: () => new Uint8Array(bytes), real },
    { label: "a subclass", make: () => new Bytes(bytes), real },
    { label: "a lying own length", make: () => withOwn(new Uint8Array(bytes), "length", fake), real },
    { label: "a spoofed constructor", make: () => withOwn(new Uint8Array(bytes), "constructor", Float64Array), real },
    { label: "a subarray", make: () => Uint8Array.from([7, ...bytes, 7]).subarray(1, bytes.length + 1), real },
    {
      label: "a Proxy",
      make: () => new Proxy(new Uint8Array(bytes), { get: (t, k) => (k === "length" ? fake : Reflect.get(t, k)) }),
      real: undefined,
    },
    { label: "a detached Uint8Array", make: () => detached(new Uint8Array(bytes.length + 1)), real: undefined },
    { label: "a view of a closed segment", make: closedView, real: undefined },
    {
      label: "a Float64Array claiming to be a Uint8Array",
      make: () => withOwn(new Float64Array(bytes), "constructor", Uint8Array),
      real: undefined,
    },
    { label: "an array-like", make: () => ({ ...[...bytes], length: bytes.length }), real: undefined },
  );
});

test("ShareableList.set() over hostile values: refused with every item unchanged, or exactly the real bytes", () => {
  using list = new ShareableList([1234567, "x".repeat(15), new Uint8Array([1, 2, 3]), null]);
  const slots = [8, 16, 8, 8];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), byteCases, (index, { label, make, real }) => {
      const value = make();
      const before = list.shm.buf.slice();
      const items = list.toArray();
      let thrown: unknown;
      try {
        list.set(index, value as never);
      } catch (error) {
        thrown = error;
      }
      if (thrown !== undefined) {
        assert.ok(thrown instanceof TypeError || thrown instanceof RangeError, `${label}: ${thrown}`);
        assert.deepEqual(list.shm.buf.slice(), before, `${label}: refused, and not a byte changed`);
        assert.ok(real === undefined || real.length > slots[index], `${label} fits and was refused: ${thrown}`);
        return;
      }
      assert.ok(real !== undefined && real.length <= slots[index], `${label} was taken`);
      let end = real.length;
      while (end > 0 && real[end - 1] === 0) end--;
      assert.deepEqual([...(list.get(index) as Uint8Array)], real.slice(0, end), label);
      items.forEach((item, j) => j !== index && assert.deepEqual(list.get(j), item, `item ${j} unchanged`));
      list.set(index, items[index]); // back to the start for the next run
    }),
    { numRuns: 300 },
  );
});

/** Hostile data for from(): typed arrays spoofed every way, Proxies of arrays honest and lying, cycles. */
const dataCases = fc.tuple(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 12 }), fc.nat({ max: 20 }))
  .chain(([numbers, fake]) => {
    const real = numbers;
    const cyclic = () => {
      const outer: unknown[] = [...numbers];
      outer.push(outer);
      return outer;
    };
    return fc.constantFrom<Case>(
      { label: "a Float64Array", make: () => new Float64Array(numbers), real },
      { label: "a subclass", make: () => new Vec(numbers), real },
      { label: "a lying own length", make: () => withOwn(new Float64Array(numbers), "length", fake), real },
      {
        label: "a constructor that says Uint8Array",
        make: () => withOwn(new Float64Array(numbers), "constructor", Uint8Array),
        real,
      },
      { label: "a plain array", make: () => [...numbers], real },
      { label: "an honest Proxy of an array", make: () => new Proxy([...numbers], {}), real },
      {
        label: "a Proxy of an array with a lying length",
        make: () => new Proxy([...numbers], { get: (t, k) => (k === "length" ? fake : Reflect.get(t, k)) }),
        real: fake <= numbers.length ? numbers.slice(0, fake) : undefined,
      },
      { label: "a Proxy of a Float64Array", make: () => new Proxy(new Float64Array(numbers), {}), real: undefined },
      { label: "a detached Float64Array", make: () => detached(new Float64Array(numbers)), real: undefined },
      { label: "an array that contains itself", make: cyclic, real: undefined },
    );
  });

test("SharedArray.from() over hostile data: refused with no segment made, or exactly the real elements", () => {
  fc.assert(
    fc.property(dataCases, ({ label, make, real }) => {
      const name = uniqueName("hostilefrom");
      try {
        let array: SharedArray | undefined;
        try {
          array = SharedArray.from(make() as never, { name, dtype: "float64" });
        } catch (error) {
          assert.ok(error instanceof TypeError || error instanceof RangeError, `${label}: ${error}`);
          assert.equal(real, undefined, `${label} was refused: ${error}`);
          assert.equal(segmentExists(name), false, `${label}: refused, and no segment made`);
          return;
        }
        using made = array;
        assert.notEqual(real, undefined, `${label} was taken`);
        assert.deepEqual([...made.data], real, label);
      } finally {
        removeIfPresent(name);
      }
    }),
    { numRuns: 300 },
  );
});

/** Bad input fails before any system call, with a TypeError or RangeError that names the argument. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory, type SharedMemoryOptions } from "../mod.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

/** Asserts that `options` is refused with `kind` and a message naming `argument`, and that no segment was made. */
function refused(options: unknown, kind: typeof TypeError | typeof RangeError, argument: RegExp): void {
  const name = typeof options === "object" && options !== null && "name" in options ? options.name : undefined;
  assert.throws(() => new SharedMemory(options as SharedMemoryOptions), (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.match((error as Error).message, argument);
    return true;
  });
  if (typeof name === "string" && name.length > 0 && !name.includes("/") && !name.includes("\0") && name.length < 250) {
    assert.equal(segmentExists(name), false, `a segment named ${name} was made anyway`);
  }
}

test("size is required to create", () => {
  refused({ create: true }, TypeError, /^size is required/);
  refused({ name: uniqueName(), create: true }, TypeError, /^size is required/);
});

test("size 0 is refused on create", () =>
  refused({ name: uniqueName(), create: true, size: 0 }, RangeError, /^size must be at least 1, got 0/));

test("a negative size is refused", () =>
  refused({ name: uniqueName(), create: true, size: -1 }, RangeError, /^size must be at least 1/));

test("a fractional size is refused", () =>
  refused({ name: uniqueName(), create: true, size: 1.5 }, RangeError, /^size must be a whole number/));

test("a NaN size is refused", () =>
  refused({ name: uniqueName(), create: true, size: NaN }, RangeError, /^size .*NaN/));

test("an infinite size is refused", () =>
  refused({ name: uniqueName(), create: true, size: Infinity }, RangeError, /^size must be a whole number/));

test("a size above what a number can count exactly is refused", () => {
  refused({ name: uniqueName(), create: true, size: 2 ** 60 }, RangeError, /^size must be at most 9007199254740991/);
});

test("a size that is not a number is refused", () => {
  refused({ name: uniqueName(), create: true, size: "10" }, TypeError, /^size must be a number, got '10'/);
  refused({ name: uniqueName(), create: true, size: 10n }, TypeError, /^size must be a number, got 10n/);
});

test("an empty name is refused", () => {
  refused({ name: "" }, TypeError, /^name must not be empty/);
  refused({ name: "", create: true, size: 8 }, TypeError, /^name must not be empty/);
  refused("", TypeError, /^name must not be empty/);
});

test("a name with '/' is refused", () => {
  refused({ name: "/psm_abc" }, TypeError, /^name must not contain '\/'/);
  refused({ name: "a/b", create: true, size: 8 }, TypeError, /^name must not contain '\/'/);
});

test("a name with NUL is refused", () =>
  refused({ name: "ab\0c", create: true, size: 8 }, TypeError, /^name must not contain a NUL/));

test("'.' and '..' are refused as names", () => {
  refused({ name: "." }, TypeError, /^name must not be '\.' or '\.\.'/);
  refused({ name: "..", create: true, size: 8 }, TypeError, /^name must not be '\.' or '\.\.'/);
});

test("a name longer than the platform allows is refused, counted in UTF-8 bytes", () => {
  refused({ name: "x".repeat(256), create: true, size: 8 }, RangeError, /^name is 256 bytes long; at most 255/);
  refused({ name: "é".repeat(128), create: true, size: 8 }, RangeError, /^name is 256 bytes long/);
});

test("a name of exactly the platform's limit works", () => {
  const name = `${uniqueName("max")}_`.padEnd(255, "x");
  using shm = new SharedMemory({ name, create: true, size: 8 });
  assert.equal(shm.name.length, 255);
});

test("a name that is not a string is refused", () => {
  refused({ name: 42 }, TypeError, /^name must be a string, got 42/);
  refused({ name: null, create: true, size: 8 }, TypeError, /^name must be a string, got null/);
});

test("attaching without a name is refused", () => {
  refused({}, TypeError, /^name is required to attach/);
  refused({ create: false, size: 8 }, TypeError, /^name is required to attach/);
});

test("options of the wrong kind are refused", () => {
  refused(undefined, TypeError, /^options must be an object/);
  refused(null, TypeError, /^options must be an object/);
  refused(42, TypeError, /^options must be an object/);
  refused([uniqueName()], TypeError, /^options must be an object .*, got an array$/);
  refused(new Map([["name", uniqueName()]]), TypeError, /^options must be an object/);
});

test("create, track and mode of the wrong kind are refused", () => {
  refused({ name: uniqueName(), create: "yes", size: 8 }, TypeError, /^create must be a boolean/);
  refused({ name: uniqueName(), create: true, size: 8, track: 1 }, TypeError, /^track must be a boolean/);
  refused({ name: uniqueName(), create: true, size: 8, mode: "600" }, TypeError, /^mode must be an integer/);
  refused({ name: uniqueName(), create: true, size: 8, mode: 0o1000 }, RangeError, /^mode must be between/);
});

test("an unknown option is refused, so a typo is not silently ignored", () => {
  refused(
    { name: uniqueName(), create: true, sise: 8 },
    TypeError,
    /^unknown option 'sise' \(known: name, create, size, mode, track, reserve\)$/,
  );
});

test("attaching ignores size, as CPython does, but a size that is not a number is refused before any system call", () => {
  // no segment has this name: reaching shm_open would be ENOENT, not a TypeError
  refused({ name: uniqueName(), size: "abc" }, TypeError, /^size must be a number, got 'abc'$/);
  refused({ name: uniqueName(), create: false, size: 8n }, TypeError, /^size must be a number, got 8n$/);
  using created = new SharedMemory({ create: true, size: 16 });
  assert.throws(() => new SharedMemory({ name: created.name, size: null as unknown as number }), {
    name: "TypeError",
    message: "size must be a number, got null",
  });
  using attached = new SharedMemory({ name: created.name, size: 4 });
  assert.equal(attached.size, 16);
});

test("view() refuses windows outside the segment", () => {
  using shm = new SharedMemory({ create: true, size: 16 });
  assert.throws(() => shm.view(17), { name: "RangeError", message: /^offset 17 is past the end/ });
  assert.throws(() => shm.view(8, 9), { name: "RangeError", message: /^offset 8 \+ length 9 runs past the end/ });
  assert.throws(() => shm.view(-1), { name: "RangeError", message: /^offset must be at least 0/ });
  assert.throws(() => shm.view(0.5), { name: "RangeError", message: /^offset must be a whole number/ });
  assert.throws(() => shm.view(0, "4" as unknown as number), {
    name: "TypeError",
    message: /^length must be a number/,
  });
});

test("a name with a lone surrogate is refused: UTF-8 cannot hold it", () => {
  refused({ name: "ab\ud800", create: true, size: 8 }, TypeError, /^name must not contain a lone surrogate \(at 2\)/);
});

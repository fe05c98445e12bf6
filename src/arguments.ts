/**
 * Checks of what callers pass, before any system call: each failure is a TypeError (wrong kind of
 * value) or RangeError (right kind, wrong value) that names the argument.
 */
import type { SharedMemoryOptions } from "./shared_memory.ts";
import { checkName } from "./names.ts";

/** The largest size or offset: beyond it a JS number no longer counts bytes exactly. */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/** The options with their defaults applied. */
export interface CheckedOptions {
  name: string | undefined;
  create: boolean;
  size: unknown;
  mode: number;
  track: boolean;
  reserve: boolean;
}

/** The options of `new SharedMemory(...)`. */
export const SHARED_MEMORY_OPTIONS: ReadonlySet<string> = new Set([
  "name",
  "create",
  "size",
  "mode",
  "track",
  "reserve",
]);

/**
 * Checks that `options` is a plain object (not null, an array or a class instance) whose every key is
 * one of `known`, so a typo is refused rather than ignored: `unknown option 'sise' (known: name, create,
 * size, mode, track)`. `example`, when given, shows in the message for a value that is not an object.
 */
export function checkOptionsObject(
  options: unknown,
  known: ReadonlySet<string>,
  argument = "options",
  example?: string,
): asserts options is object {
  if (!isPlainObject(options)) {
    const got = Array.isArray(options) ? "an array" : describe(options);
    throw new TypeError(`${argument} must be an object${example ? ` such as ${example}` : ""}, got ${got}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`unknown option '${key}' (known: ${[...known].join(", ")})`);
  }
}

/** An object literal's kind: its prototype is `Object.prototype` (of any realm) or null. */
function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** Checks the constructor's argument: the name alone, or an options object. */
export function checkOptions(options: SharedMemoryOptions | string | undefined): CheckedOptions {
  if (typeof options === "string") options = { name: options };
  checkOptionsObject(
    options,
    SHARED_MEMORY_OPTIONS,
    "options",
    "{ create: true, size: 1024 } or { name: 'psm_...' }",
  );
  const { name, create = false, size, mode = 0o600, track = true, reserve = true } = options;
  if (typeof create !== "boolean") throw new TypeError(`create must be a boolean, got ${describe(create)}`);
  if (typeof track !== "boolean") throw new TypeError(`track must be a boolean, got ${describe(track)}`);
  if (typeof reserve !== "boolean") throw new TypeError(`reserve must be a boolean, got ${describe(reserve)}`);
  if (!Number.isInteger(mode)) throw new TypeError(`mode must be an integer such as 0o600, got ${describe(mode)}`);
  if (mode < 0 || mode > 0o777) throw new RangeError(`mode must be between 0o000 and 0o777, got 0o${mode.toString(8)}`);
  if (!create && name === undefined) {
    throw new TypeError("name is required to attach to a segment (or pass create: true with a size)");
  }
  if (name !== undefined) checkName(name);
  // attaching ignores size, as CPython does, but a size of the wrong kind is still a mistake
  if (!create && size !== undefined && typeof size !== "number") {
    throw new TypeError(`size must be a number, got ${describe(size)}`);
  }
  // -0 is 0 (Deno's FFI refuses -0 as a u32)
  return { name, create, size, mode: mode === 0 ? 0 : mode, track, reserve };
}

/** A new segment's size: a whole number of bytes, at least 1. */
export function checkCreateSize(size: unknown): asserts size is number {
  if (size === undefined) throw new TypeError("size is required when create is true");
  checkByteCount(size, "size", 1);
}

/**
 * Checks that `value` is a whole number of bytes, at least `min` and at most `MAX_BYTES`.
 */
export function checkByteCount(value: unknown, argument: string, min = 0): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${argument} must be a number, got ${describe(value)}`);
  if (Number.isNaN(value)) throw new RangeError(`${argument} must be a number of bytes, got NaN`);
  if (!Number.isInteger(value)) throw new RangeError(`${argument} must be a whole number of bytes, got ${value}`);
  if (value < min) throw new RangeError(`${argument} must be at least ${min}, got ${value}`);
  if (value > MAX_BYTES) throw new RangeError(`${argument} must be at most ${MAX_BYTES} bytes, got ${value}`);
}

/** Checks `offset` and `length` (default: to the end) against a segment of `size` bytes. */
export function checkWindow(offset: unknown, length: unknown, size: number): { offset: number; length: number } {
  checkByteCount(offset, "offset");
  if (offset > size) throw new RangeError(`offset ${offset} is past the end of the ${size}-byte segment`);
  if (length === undefined) return { offset, length: size - offset };
  checkByteCount(length, "length");
  if (offset + length > size) {
    throw new RangeError(`offset ${offset} + length ${length} runs past the end of the ${size}-byte segment`);
  }
  return { offset, length };
}

/** A short description of a value for a message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === undefined) return String(value);
  return typeof value;
}

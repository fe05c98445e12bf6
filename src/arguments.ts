/**
 * Checks of what callers pass, before any system call: each failure is a TypeError (wrong kind of
 * value) or RangeError (right kind, wrong value) that names the argument.
 */
import { checkName } from "./names.ts";
import { describe } from "./describe.ts";

// Every checker's messages describe values the same way; re-exported for the files that import it from here.
export { describe };

/** The largest size or offset: beyond it a JS number no longer counts bytes exactly. */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/** How to create or attach to a segment; the same fields as CPython's `SharedMemory(name, create, size)`. */
export interface SharedMemoryOptions {
  /** The segment's name without a leading `/`. Required to attach; drawn as `psm_` + 8 hex digits when creating without one. */
  name?: string;
  /** Create a new segment (`true`) or attach to an existing one (`false`, the default). */
  create?: boolean;
  /** The size in bytes of a new segment: a whole number > 0. Ignored when attaching: the segment's size is read. */
  size?: number;
  /** Permission bits of a new segment. Default `0o600`: only this user can attach. */
  mode?: number;
  /**
   * Unlink a segment this handle created, at the latest when the process ends (default `true`).
   * Attaching never tracks, so a child that attaches and exits never removes its parent's segment.
   */
  track?: boolean;
  /**
   * Reserve a new segment's memory when creating it (default `true`): every page is allocated at once
   * (`posix_fallocate`), so a full /dev/shm (a container's is 64 MiB by default) is a `SharedMemoryError`
   * `ENOSPC` at create, with nothing left behind. `reserve: false` makes a sparse segment, as `ftruncate`
   * alone does (and as CPython does): pages are allocated when first touched, so a huge segment of which
   * little is used costs little, but if /dev/shm or memory runs out then, the process that touches the
   * page is killed by SIGBUS, which no library can catch. Ignored when attaching; macOS, which has no
   * `posix_fallocate`, never reserves.
   */
  reserve?: boolean;
}

/** How `SharedMemory.create` makes a segment: `SharedMemoryOptions` without `create`, and `size` required. */
export interface SharedMemoryCreateOptions extends Omit<SharedMemoryOptions, "create" | "size"> {
  /** The size in bytes: a whole number > 0. */
  size: number;
}

/** The options with their defaults applied. */
export interface CheckedOptions {
  name: string | undefined;
  create: boolean;
  size: unknown;
  mode: number;
  track: boolean;
  reserve: boolean;
}

/**
 * The key set of an options table: each options interface has one table `{ key: true, ... }` written
 * `satisfies Record<keyof TheOptions, true>`, so that an option added to the interface without its row (or
 * a row without its option) is a type error, and `checkOptionsObject` knows every key from the one table.
 */
export function optionKeys(table: Readonly<Record<string, true>>): ReadonlySet<string> {
  return new Set(Object.keys(table));
}

/** Every option of `new SharedMemory(...)`, once. */
const SHARED_MEMORY_OPTION_TABLE = {
  name: true,
  create: true,
  size: true,
  mode: true,
  track: true,
  reserve: true,
} as const satisfies Record<keyof SharedMemoryOptions, true>;

/** The options of `new SharedMemory(...)`. */
export const SHARED_MEMORY_OPTIONS: ReadonlySet<string> = optionKeys(SHARED_MEMORY_OPTION_TABLE);

/** Every option of `SharedMemory.create(...)`, once. */
const SHARED_MEMORY_CREATE_OPTION_TABLE = {
  size: true,
  name: true,
  mode: true,
  track: true,
  reserve: true,
} as const satisfies Record<keyof SharedMemoryCreateOptions, true>;

/** The options of `SharedMemory.create(...)`. */
export const SHARED_MEMORY_CREATE_OPTIONS: ReadonlySet<string> = optionKeys(SHARED_MEMORY_CREATE_OPTION_TABLE);

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

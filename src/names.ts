/** Segment names: checking a given one, and drawing a new one as CPython does. */
import { libc } from "../ffi/runtime.ts";
import { describe } from "./arguments.ts";

const encoder = new TextEncoder();

/** The prefix of every automatic name, as in CPython, so either language's tools recognise them. */
export const AUTO_NAME_PREFIX = "psm_";

/** `psm_` and 8 lowercase hex digits from 4 random bytes, as CPython's `_make_filename`. */
export function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return AUTO_NAME_PREFIX + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Throws a TypeError or RangeError naming `argument` unless `name` can name a segment here: a
 * non-empty string without `/` or NUL that fits the platform's limit (255 bytes on Linux).
 */
export function checkName(name: unknown, argument = "name"): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`${argument} must be a string, got ${describe(name)}`);
  }
  if (name.length === 0) throw new TypeError(`${argument} must not be empty`);
  if (name.includes("/")) {
    throw new TypeError(`${argument} must not contain '/' (the leading '/' is added for you), got '${name}'`);
  }
  if (name.includes("\0")) throw new TypeError(`${argument} must not contain a NUL character`);
  if (name === "." || name === "..") throw new TypeError(`${argument} must not be '.' or '..'`);
  const bytes = encoder.encode(name).length;
  const max = libc().platform.maxNameBytes;
  if (bytes > max) {
    throw new RangeError(`${argument} is ${bytes} bytes long; at most ${max} are allowed on ${libc().platform.id}`);
  }
}

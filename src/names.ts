/** Segment names: checking a given one, and drawing a new one as CPython does. */
import { libc } from "../ffi/runtime.ts";
import { describe } from "./describe.ts";
import { loneSurrogateAt, utf8Length } from "./utf8.ts";

/** The prefix of every automatic name, as in CPython, so either language's tools recognise them. */
export const AUTO_NAME_PREFIX = "psm_";

/** Random words drawn 256 at a time: one `crypto.getRandomValues` call costs about 2 us in Deno. */
const randomWords = new Uint32Array(256);
let nextWord = randomWords.length;

/** `psm_` and 8 lowercase hex digits from 4 random bytes, as CPython's `_make_filename`. */
export function randomName(): string {
  if (nextWord === randomWords.length) {
    crypto.getRandomValues(randomWords);
    nextWord = 0;
  }
  return AUTO_NAME_PREFIX + randomWords[nextWord++].toString(16).padStart(8, "0");
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
  const bytes = utf8Length(name);
  if (bytes < 0) {
    throw new TypeError(
      `${argument} must not contain a lone surrogate (at ${loneSurrogateAt(name)}): UTF-8 cannot hold it`,
    );
  }
  const max = libc().platform.maxNameBytes;
  if (bytes > max) {
    throw new RangeError(`${argument} is ${bytes} bytes long; at most ${max} are allowed on ${libc().platform.id}`);
  }
}

/**
 * The built-ins that the library's safety rests on, taken once when the module loads and called as
 * plain functions from then on. A program (or a polyfill) that later replaces
 * `ArrayBuffer.prototype.transfer`, defines an own `length` on a typed array, wraps one in a Proxy or
 * gives it a spoofed `constructor` changes nothing here:
 *
 * - detaching a mapping's buffers before `munmap` uses the real `transfer` and `detached`, so `close()`
 *   can never leave a view over unmapped memory (a segfault on the next read);
 * - a typed array is known by its internal slots, read through the `%TypedArray%.prototype` getters:
 *   its kind (`Symbol.toStringTag` gives the slot `[[TypedArrayName]]`, undefined for anything that is
 *   not a real typed array, a Proxy included), its buffer, offset and length. A subclass
 *   (`class Vec extends Float64Array`) is its base kind.
 */

/** `fn` as a function that takes its `this` first: `call(fn)(self, ...args)` is `fn.call(self, ...args)`. */
function uncurryThis<T, A extends unknown[], R>(fn: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return Function.prototype.call.bind(fn as (...args: unknown[]) => unknown) as (self: T, ...args: A) => R;
}

function getter<T, R>(prototype: object, key: PropertyKey): (self: T) => R {
  return uncurryThis(Object.getOwnPropertyDescriptor(prototype, key)!.get! as (this: T) => R);
}

/** `%TypedArray%.prototype`, the prototype every typed array class shares. */
const TYPED_ARRAY_PROTOTYPE: object = Object.getPrototypeOf(Uint8Array.prototype);

/** Any typed array, as the getters below take it. */
export type TypedArrayLike = ArrayBufferView & { readonly length: number };

const toStringTag = getter<unknown, string | undefined>(TYPED_ARRAY_PROTOTYPE, Symbol.toStringTag);
/** The typed array's buffer (internal slot `[[ViewedArrayBuffer]]`). */
export const typedArrayBuffer: (view: TypedArrayLike) => ArrayBufferLike = getter(TYPED_ARRAY_PROTOTYPE, "buffer");
/** The typed array's length in elements (`[[ArrayLength]]`; 0 once detached or out of bounds). */
export const typedArrayLength: (view: TypedArrayLike) => number = getter(TYPED_ARRAY_PROTOTYPE, "length");
/** The typed array's offset in bytes (`[[ByteOffset]]`; 0 once detached). */
export const typedArrayByteOffset: (view: TypedArrayLike) => number = getter(TYPED_ARRAY_PROTOTYPE, "byteOffset");
/** The typed array's length in bytes (0 once detached). */
export const typedArrayByteLength: (view: TypedArrayLike) => number = getter(TYPED_ARRAY_PROTOTYPE, "byteLength");
/** `target.set(source, offset)`; with a typed array `source`, its elements are read from its slots. */
export const typedArraySet: (target: TypedArrayLike, source: ArrayLike<unknown>, offset?: number) => void = uncurryThis(
  (TYPED_ARRAY_PROTOTYPE as { set(source: ArrayLike<unknown>, offset?: number): void }).set,
);

/**
 * The kind of a real typed array (`"Float64Array"`, also for a subclass), read from its internal slot;
 * undefined for anything else: a Proxy, a DataView, an object that only looks like one.
 */
export function typedArrayName(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  return toStringTag(value);
}

/** Whether `value` is a real Uint8Array (or a subclass of it, such as Node's Buffer), by its internal slot. */
export function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayName(value) === "Uint8Array";
}

const arrayBufferDetachedGetter = getter<ArrayBuffer, boolean>(ArrayBuffer.prototype, "detached");

/** Whether the ArrayBuffer is detached (false for a SharedArrayBuffer, which cannot be). */
export function isDetachedBuffer(buffer: ArrayBufferLike): boolean {
  try {
    return arrayBufferDetachedGetter(buffer as ArrayBuffer);
  } catch {
    return false; // the getter refuses a SharedArrayBuffer: only those can get here
  }
}

/** Whether a typed array's buffer is detached (transferred away, or a view of a closed segment). */
export function isDetachedView(view: TypedArrayLike): boolean {
  return isDetachedBuffer(typedArrayBuffer(view));
}

/** `ArrayBuffer.prototype.transfer`, as it was at load. */
const transfer = uncurryThis(
  (ArrayBuffer.prototype as ArrayBuffer & { transfer(length?: number): ArrayBuffer }).transfer,
);

/**
 * Detaches `buffer` unless it already is: `transfer(0)` leaves it, and every view of it however made,
 * at length 0 (docs/runtime-facts.md). Never `transfer()` without 0, which only moves the memory.
 */
export function detach(buffer: ArrayBuffer): void {
  if (!arrayBufferDetachedGetter(buffer)) transfer(buffer, 0);
}

/** `Array.isArray` as it was at load (true for a Proxy of an array too: such input is read once, see `flatten`). */
export const isArray: (value: unknown) => value is readonly unknown[] = Array.isArray;

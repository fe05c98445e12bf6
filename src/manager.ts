/** One owner for many segments, freed together: CPython's `SharedMemoryManager`, without a server process. */
import { SharedMemory, type SharedMemoryOptions } from "./shared_memory.ts";
import { type ListValue, ShareableList, type ShareableListOptions } from "./shareable_list.ts";
import {
  type ArrayData,
  type DTypeOfData,
  FROM_OPTIONS,
  type FromOptions,
  type PlacementOptions,
  type Shape,
  SharedArray,
  ZEROS_OPTIONS,
} from "./shared_array.ts";
import type { DType } from "./dtypes.ts";
import { SharedMemoryError } from "./errors.ts";
import { checkOptionsObject, describe, SHARED_MEMORY_OPTIONS } from "./arguments.ts";

/** Options a manager sets itself (`create`, `size`) or refuses (`shm`, `offset`: its arrays get segments of their own). */
const NOT_MANAGED = ["create", "size", "shm", "offset"];
const without = (known: ReadonlySet<string>) => new Set([...known].filter((key) => !NOT_MANAGED.includes(key)));
const SEGMENT_OPTIONS = without(SHARED_MEMORY_OPTIONS);
const ARRAY_OPTIONS = without(FROM_OPTIONS);
const ZEROS_ARRAY_OPTIONS = without(ZEROS_OPTIONS);

/** What a manager can own: a segment, or anything closable that lives in one (`ShareableList`, `SharedArray`). */
export type Managed = SharedMemory | { readonly shm: SharedMemory; close(): void };

/** Options of the segments a manager makes: everything but `create` and `size`. */
export type ManagedSegmentOptions = Omit<SharedMemoryOptions, "create" | "size">;

/** Where a manager's array goes: always a new segment of its own, so no `shm` and `offset`. */
export type ManagedPlacement = Omit<PlacementOptions, "shm" | "offset">;

/** Options of a manager's `sharedArray`: `SharedArray.from`'s, without `shm` and `offset`. */
export type ManagedArrayOptions<D extends DType = DType> = Omit<FromOptions<D>, "shm" | "offset">;

/**
 * Makes segments, lists and arrays, and unlinks every one of them at `shutdown()`, at the end of a
 * `using` or `await using` block, or (as every tracked segment) when the process ends.
 *
 * ```ts
 * using manager = new SharedMemoryManager();
 * const shm = manager.sharedMemory(4096);
 * const list = manager.shareableList([1, "two", null]);
 * const array = manager.zeros([2, 3], "int32");
 * // ...hand shm.name, list.shm.name and array.descriptor to other processes...
 * // the end of the block closes and unlinks all three
 * ```
 */
export class SharedMemoryManager implements Disposable, AsyncDisposable {
  readonly #owned = new Set<Managed>();

  /** A new segment of `size` bytes (`new SharedMemory({ create: true, size, ...options })`). */
  sharedMemory(size: number, options: ManagedSegmentOptions = {}): SharedMemory {
    checkOptionsObject(options, SEGMENT_OPTIONS);
    return this.adopt(new SharedMemory({ ...options, create: true, size }));
  }

  /** A new list holding `values` (`new ShareableList(values, options)`). */
  shareableList(values: Iterable<ListValue>, options: ShareableListOptions = {}): ShareableList {
    return this.adopt(new ShareableList(values, options));
  }

  /** A new array holding a copy of `data`, in a segment of its own (`SharedArray.from(data, options)`). */
  sharedArray<T extends ArrayData, D extends DType = DTypeOfData<T>>(
    data: T,
    options: ManagedArrayOptions<D> = {},
  ): SharedArray<D> {
    return this.adopt(SharedArray.from<T, D>(data, checkArrayOptions(options, ARRAY_OPTIONS)));
  }

  /** A new zero-filled array, in a segment of its own (`SharedArray.zeros(shape, dtype, options)`). */
  zeros<D extends DType = "float64">(shape: Shape, dtype?: D, options: ManagedPlacement = {}): SharedArray<D> {
    return this.adopt(SharedArray.zeros<D>(shape, dtype, checkArrayOptions(options, ZEROS_ARRAY_OPTIONS)));
  }

  /**
   * Takes ownership of `value`, made elsewhere: `shutdown()` will close it and unlink its segment
   * (whichever process created it). Returns `value`.
   */
  adopt<T extends Managed>(value: T): T {
    segmentOf(value);
    this.#owned.add(value);
    return value;
  }

  /** The names of the segments this manager owns now. */
  get names(): string[] {
    return [...this.#owned].map((value) => segmentOf(value).name);
  }

  /**
   * Closes everything this manager owns and unlinks its segments (a name already gone is fine), newest
   * first; the manager is then empty and can be used again. Every one is tried; the first failure (or
   * an `AggregateError` of several) is thrown afterwards.
   */
  shutdown(): void {
    const errors: unknown[] = [];
    for (const value of [...this.#owned].reverse()) {
      this.#owned.delete(value);
      for (const step of [() => value.close(), () => segmentOf(value).unlink()]) {
        try {
          step();
        } catch (error) {
          if (!(error instanceof SharedMemoryError && error.code === "ENOENT")) errors.push(error);
        }
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} segments could not be freed`);
  }

  /** `shutdown()`, at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.shutdown();
  }

  /** `shutdown()`, at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => resolve(this.shutdown()));
  }
}

/** The segment of a managed value; a TypeError for anything else. */
function segmentOf(value: Managed): SharedMemory {
  if (value instanceof SharedMemory) return value;
  const shm = (value as { shm?: unknown } | null)?.shm;
  if (shm instanceof SharedMemory && typeof (value as { close?: unknown }).close === "function") return shm;
  throw new TypeError(
    `value must be a SharedMemory or have a SharedMemory 'shm' and a close() method, got ${describe(value)}`,
  );
}

/** A manager's array gets a segment of its own: a `shm` to place it in is refused, with a reason. */
function checkArrayOptions<T extends object>(options: T, known: ReadonlySet<string>): T {
  for (const key of ["shm", "offset"]) {
    if (options !== null && typeof options === "object" && key in options) {
      throw new TypeError(
        `options.${key} is not allowed: a manager's array gets a segment of its own (adopt() an array placed in yours)`,
      );
    }
  }
  checkOptionsObject(options, known);
  return options;
}

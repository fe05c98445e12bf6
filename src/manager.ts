/** One owner for many segments, freed together: CPython's `SharedMemoryManager`, without a server process. */
import { SharedMemory, type SharedMemoryOptions } from "./shared_memory.ts";
import { type ListValue, ShareableList, type ShareableListOptions } from "./shareable_list.ts";
import {
  type ArrayData,
  type DTypeOfData,
  type FromOptions,
  type PlacementOptions,
  type Shape,
  SharedArray,
} from "./shared_array.ts";
import type { DType } from "./dtypes.ts";
import { SharedMemoryError } from "./errors.ts";
import { checkOptionsObject, describe, optionKeys } from "./arguments.ts";
import { segmentOf as segmentOfObject, SharedObject } from "./shared_object.ts";

/**
 * What a manager can own: a segment, or any shared object (`ShareableList`, `SharedArray`, and every kind
 * built on `SharedObject`): each has `close()`, and a segment to unlink.
 */
export type Managed = SharedMemory | SharedObject;

/** Options of the segments a manager makes: everything but `create` and `size`. */
export type ManagedSegmentOptions = Omit<SharedMemoryOptions, "create" | "size">;

/** Where a manager's array goes: always a new segment of its own, so no `shm` and `offset`. */
export type ManagedPlacement = Omit<PlacementOptions, "shm" | "offset">;

/** Options of a manager's `sharedArray`: `SharedArray.from`'s, without `shm` and `offset`. */
export type ManagedArrayOptions<D extends DType = DType> = Omit<FromOptions<D>, "shm" | "offset">;

// Each options type's keys, once (a manager sets `create` and `size` itself, and refuses `shm` and `offset`).
const SEGMENT_OPTIONS = optionKeys(
  { name: true, mode: true, track: true, reserve: true } as const satisfies Record<keyof ManagedSegmentOptions, true>,
);
const ZEROS_ARRAY_OPTIONS = optionKeys(
  { name: true, mode: true, track: true, reserve: true } as const satisfies Record<keyof ManagedPlacement, true>,
);
const ARRAY_OPTIONS = optionKeys(
  { name: true, mode: true, track: true, reserve: true, dtype: true, shape: true } as const satisfies Record<
    keyof ManagedArrayOptions,
    true
  >,
);

/**
 * Makes segments, lists and arrays, and unlinks every one of them at `shutdown()`, at the end of a
 * `using` or `await using` block, or (as every tracked segment) when the process ends. It owns any
 * shared object (`adopt`): a `SharedMemory`, or anything built on `SharedObject`.
 *
 * @example
 * ```ts
 * import { attach, SharedMemoryManager } from "@shm/shared-memory";
 *
 * using manager = new SharedMemoryManager();
 * const shm = manager.sharedMemory(4096);
 * const list = manager.shareableList([1, "two", null]);
 * const array = manager.zeros([2, 3], "int32");
 * const handed = JSON.stringify([shm, list, array]); // their descriptors, for other processes
 * for (const descriptor of JSON.parse(handed)) {
 *   using seen = attach(descriptor); // what another process does with them
 * }
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
  if (value instanceof SharedObject) return segmentOfObject(value);
  throw new TypeError(
    `value must be a SharedMemory or a shared object (ShareableList, SharedArray, ...), got ${describe(value)}`,
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

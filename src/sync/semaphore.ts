/**
 * A counting semaphore every process can acquire and release: Python's `threading.Semaphore` (and,
 * with `max`, `BoundedSemaphore`) across processes. Its count changes under its internal robust lock
 * (`layout.ts`); acquirers that find it 0 sleep on its `seq` word, which `release` bumps.
 */
import {
  type ObjectPlacement,
  type Placement,
  placeObject,
  SharedObject,
  type SharedObjectDescriptor,
} from "../shared_object.ts";
import type { SharedMemory } from "../shared_memory.ts";
import { describe } from "../arguments.ts";
import { futex, type WaitOptions } from "./futex.ts";
import {
  type Attempt,
  checkObject,
  InternalLock,
  makeObject,
  type ObjectBytes,
  objectBytes,
  Spinner,
  waitLoop,
  waitLoopAsync,
} from "./internal.ts";
import { LAYOUTS, SYNC_ALIGNMENT } from "./layout.ts";

/** A semaphore's hand-over form. */
export interface SemaphoreDescriptor extends SharedObjectDescriptor {
  /** Always `"semaphore"`. */
  readonly kind: "semaphore";
}

/** Options of `Semaphore.create`. */
export interface SemaphoreOptions extends ObjectPlacement {
  /** The initial count (default 1). */
  value?: number;
  /** The most the count may reach: releasing beyond it is a RangeError (Python's BoundedSemaphore). */
  max?: number;
}

const L = LAYOUTS.semaphore;
const INT32_MAX = 0x7fffffff;

function checkCount(value: unknown, argument: string, min: number): number {
  if (typeof value !== "number") throw new TypeError(`${argument} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > INT32_MAX) {
    throw new RangeError(`${argument} must be a whole number from ${min} to ${INT32_MAX}, got ${value}`);
  }
  return value;
}

/** A counting semaphore in shared memory. */
export class Semaphore extends SharedObject<SemaphoreDescriptor> {
  readonly #o: ObjectBytes;
  readonly #lock: InternalLock;
  readonly #spinner = new Spinner();

  private constructor(placement: Placement, init?: { value: number; max: number }) {
    super(placement, "semaphore", {});
    this.#o = objectBytes(placement, L.size);
    this.#lock = new InternalLock(this.#o);
    if (init) {
      makeObject(this.#o, "semaphore", () => {
        this.#lock.init();
        this.#o.words[L.value / 4] = init.value;
        this.#o.words[L.max / 4] = init.max;
      });
    } else checkObject(this.#o, "semaphore", placement);
  }

  /** The bytes a Semaphore takes, for placing one with `{ shm, offset }`. */
  static readonly byteLength: number = L.size;

  /**
   * A new semaphore with count `value` (default 1): in a small segment of its own, or at `offset` in `shm`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@shm/shared-memory";
   *
   * using slots = Semaphore.create({ value: 2 });
   * slots.acquire(); // 1 left
   * slots.tryAcquire(); // true: 0 left
   * slots.tryAcquire(); // false
   * slots.release(2);
   * ```
   */
  static create(options: SemaphoreOptions = {}): Semaphore {
    const value = checkCount(options.value ?? 1, "value", 0);
    const max = options.max === undefined ? 0 : checkCount(options.max, "max", 1);
    if (max && value > max) throw new RangeError(`value ${value} is above max ${max}`);
    return placeObject(
      { size: L.size, alignment: SYNC_ALIGNMENT, options, extra: ["value", "max"] },
      (placement) => new Semaphore(placement, { value, max }),
    );
  }

  /** The semaphore another process described (its `descriptor`, that as JSON, or a segment name). */
  static attach(descriptor: SemaphoreDescriptor | string, options: { shm?: SharedMemory } = {}): Semaphore {
    return placeObject(
      { kind: "semaphore", size: L.size, alignment: SYNC_ALIGNMENT, descriptor, shm: options.shm },
      (placement) => new Semaphore(placement),
    );
  }

  /** The count now (another process may change it the next moment). */
  get value(): number {
    this.checkOpen();
    return Atomics.load(this.#o.words, L.value / 4);
  }

  /** Takes one if the count is above 0: whether it did. */
  tryAcquire(): boolean {
    this.checkOpen();
    const tried = this.#attempt(false);
    return tried.done;
  }

  /** Takes one, blocking while the count is 0: true, or false after `timeout` ms. */
  acquire(options?: WaitOptions): boolean {
    this.checkOpen();
    return waitLoop(
      this.#o.words,
      L.seq / 4,
      options,
      () => this.#attempt(true),
      () => false,
      this.#leave,
      this.#spinner,
    );
  }

  /** Takes one without blocking the event loop: resolves true, or false after `timeout`; a signal rejects. */
  acquireAsync(options?: WaitOptions): Promise<boolean> {
    this.checkOpen();
    return waitLoopAsync(this.#o.words, L.seq / 4, options, () => this.#attempt(true), () => false, this.#leave);
  }

  /** Adds `count` (default 1) and wakes the sleepers. A RangeError beyond `max`. */
  release(count = 1): void {
    this.checkOpen();
    checkCount(count, "count", 1);
    const w = this.#o.words;
    const wake = this.#lock.run(() => {
      const value = w[L.value / 4];
      const max = w[L.max / 4];
      if ((max && value + count > max) || value + count > INT32_MAX) {
        throw new RangeError(`release(${count}) would take the semaphore from ${value} above ${max || INT32_MAX}`);
      }
      Atomics.store(w, L.value / 4, value + count);
      if (Atomics.load(w, L.waiters / 4) === 0) return false;
      Atomics.add(w, L.seq / 4, 1);
      return true;
    });
    // Every sleeper wakes and tries: one that gave up meanwhile cannot swallow another's wake-up.
    if (wake) futex.notify(w, L.seq / 4);
  }

  /** `Semaphore(psm_1a2b3c4d@0, value=2)`. */
  override toString(): string {
    const { name, offset } = this.descriptor;
    return `Semaphore(${name}@${offset}${this.closed ? ", closed" : `, value=${this.value}`})`;
  }

  /** Under the lock: take one, or (when `wait`) count this caller as a sleeper and read `seq`. */
  #attempt(wait: boolean): Attempt<boolean> {
    const w = this.#o.words;
    return this.#lock.run((): Attempt<boolean> => {
      const value = w[L.value / 4];
      if (value > 0) {
        Atomics.store(w, L.value / 4, value - 1);
        return { done: true, value: true };
      }
      if (wait) Atomics.add(w, L.waiters / 4, 1);
      return { done: false, seq: Atomics.load(w, L.seq / 4) };
    });
  }

  #leave = (): void => {
    if (this.closed) return;
    const w = this.#o.words;
    this.#lock.run(() => Atomics.sub(w, L.waiters / 4, 1));
  };
}

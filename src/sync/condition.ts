/**
 * A condition variable over a `Mutex`, across processes: Python's `threading.Condition`. Its words
 * (`layout.ts`) change only while holding the mutex. `notify(n)` hands out `n` signals (at most one per
 * waiter) and wakes every sleeper; each that wakes takes the mutex and takes a signal if one is left,
 * else sleeps again. A waiter may take a signal meant for one that waited longer (no FIFO order
 * across processes), but exactly as many waiters return true as were signalled.
 */
import {
  checkPlacementOffset,
  type ObjectPlacement,
  type Placement,
  placeObject,
  SharedObject,
  type SharedObjectDescriptor,
} from "../shared_object.ts";
import type { SharedMemory } from "../shared_memory.ts";
import { describe } from "../arguments.ts";
import { checkWaitOptions, futex, type WaitOptions } from "./futex.ts";
import { checkObject, Deadline, LockStateError, makeObject, type ObjectBytes, objectBytes } from "./internal.ts";
import { LAYOUTS, SYNC_ALIGNMENT } from "./layout.ts";
import { Mutex, type MutexDescriptor } from "./mutex.ts";

/** A condition's hand-over form: its words, and its mutex's descriptor. */
export interface ConditionDescriptor extends SharedObjectDescriptor {
  /** Always `"condition"`. */
  readonly kind: "condition";
  /** The descriptor of the Mutex it waits over. */
  readonly mutex: MutexDescriptor;
}

/** Options of `Condition.create`. */
export interface ConditionOptions extends ObjectPlacement {
  /** The mutex to wait over (it stays the caller's). Default: a new one, right after the condition. */
  mutex?: Mutex;
}

const L = LAYOUTS.condition;
const SEQ = L.seq / 4;
const WAITERS = L.waiters / 4;
const SIGNALS = L.signals / 4;

/** A condition descriptor's own field: its mutex's descriptor (checked in full by `Mutex.attach`). */
function checkMutexField(raw: Record<string, unknown>): void {
  if (raw.mutex === null || typeof raw.mutex !== "object") {
    throw new TypeError(`descriptor.mutex must be a mutex descriptor, got ${describe(raw.mutex)}`);
  }
}

/** A condition variable in shared memory. */
export class Condition extends SharedObject<ConditionDescriptor> {
  readonly #o: ObjectBytes;
  readonly #mutex: Mutex;
  readonly #ownsMutex: boolean;

  private constructor(placement: Placement, mutex: Mutex, ownsMutex: boolean, create: boolean) {
    super(placement, "condition", { mutex: mutex.descriptor });
    this.#o = objectBytes(placement, L.size);
    this.#mutex = mutex;
    this.#ownsMutex = ownsMutex;
    if (create) makeObject(this.#o, "condition", () => {});
    else checkObject(this.#o, "condition", placement);
  }

  /** The bytes a condition takes (without its mutex), for placing one with `{ shm, offset }`. */
  static readonly byteLength: number = L.size;

  /**
   * A new condition over `options.mutex`, or over a new Mutex placed right after it (in its own segment,
   * or in `shm` at `offset + Condition.byteLength`).
   *
   * @example
   * ```ts
   * import { Condition } from "@shm/shared-memory";
   *
   * using condition = Condition.create();
   * condition.mutex.lock();
   * condition.wait({ timeout: 10 }); // false: no one notified
   * condition.notifyAll();
   * condition.mutex.unlock();
   * ```
   */
  static create(options: ConditionOptions = {}): Condition {
    const given = options.mutex;
    if (given !== undefined && !(given instanceof Mutex)) {
      throw new TypeError(`mutex must be a Mutex, got ${describe(given)}`);
    }
    const { mutex: _, ...placementOptions } = options;
    const size = given ? L.size : L.size + Mutex.byteLength;
    return placeObject({ size, alignment: SYNC_ALIGNMENT, options: placementOptions }, (placement) => {
      const mutex = given ?? Mutex.create({ shm: placement.shm, offset: placement.offset + L.size });
      return new Condition(placement, mutex, !given, true);
    });
  }

  /** The condition another process described (its `descriptor` or that as JSON); attaches its mutex too. */
  static attach(descriptor: ConditionDescriptor | string, options: { shm?: SharedMemory } = {}): Condition {
    const existing = { kind: "condition", size: L.size, alignment: SYNC_ALIGNMENT, descriptor, shm: options.shm };
    return placeObject({ ...existing, check: checkMutexField }, (placement, d: ConditionDescriptor) => {
      const same = d.mutex.name === d.name;
      if (same) {
        checkPlacementOffset(d.mutex.offset, Mutex.byteLength, SYNC_ALIGNMENT, placement.shm.size, "mutex.offset");
      }
      const mutex = Mutex.attach(d.mutex, same ? { shm: placement.shm } : {});
      try {
        return new Condition(placement, mutex, true, false);
      } catch (error) {
        mutex.close();
        throw error;
      }
    });
  }

  /** The mutex to hold around `wait` and `notify`. */
  get mutex(): Mutex {
    return this.#mutex;
  }

  /**
   * Releases the mutex (which this thread must hold), sleeps until notified or `timeout` ms pass, takes
   * the mutex again, and returns whether it was notified.
   */
  wait(options?: WaitOptions): boolean {
    const { deadline, seq } = this.#enter(options);
    for (let s = seq;;) {
      futex.wait(this.#o.words, SEQ, s, deadline.left());
      this.#mutex.lock();
      const done = this.#leave(deadline);
      if (done !== undefined) return done;
      s = Atomics.load(this.#o.words, SEQ);
      this.#mutex.unlock();
    }
  }

  /** `wait` without blocking the event loop. An aborted signal rejects (holding the mutex again). */
  async waitAsync(options?: WaitOptions): Promise<boolean> {
    const { deadline, seq, signal } = this.#enter(options);
    let s = seq;
    for (;;) {
      const left = deadline.left();
      let aborted: unknown = undefined;
      try {
        await futex.waitAsync(this.#o.words, SEQ, s, left === Infinity ? { signal } : { timeout: left, signal });
      } catch (reason) {
        aborted = { reason };
      }
      await this.#mutex.lockAsync();
      if (aborted) {
        this.#drop();
        throw (aborted as { reason: unknown }).reason;
      }
      const done = this.#leave(deadline);
      if (done !== undefined) return done;
      s = Atomics.load(this.#o.words, SEQ);
      this.#mutex.unlock();
    }
  }

  /** Waits until `predicate()` is true (checked holding the mutex): its last value (false on timeout). */
  waitFor(predicate: () => boolean, options?: WaitOptions): boolean {
    const deadline = new Deadline(checkWaitOptions(options).timeout);
    let result = predicate();
    while (!result) {
      if (deadline.passed) break;
      this.wait({ ...options, timeout: deadline.left() });
      result = predicate();
    }
    return result;
  }

  /** `waitFor` without blocking the event loop. */
  async waitForAsync(predicate: () => boolean, options?: WaitOptions): Promise<boolean> {
    const deadline = new Deadline(checkWaitOptions(options).timeout);
    let result = predicate();
    while (!result) {
      if (deadline.passed) break;
      await this.waitAsync({ ...options, timeout: deadline.left() });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` (default 1) waiters; this thread must hold the mutex. */
  notify(n = 1): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number >= 0, got ${n}`);
    this.#checkHeld("notify");
    const w = this.#o.words;
    const free = w[WAITERS] - w[SIGNALS];
    const k = Math.min(n, free);
    if (k <= 0) return;
    Atomics.store(w, SIGNALS, w[SIGNALS] + k);
    Atomics.add(w, SEQ, 1);
    futex.notify(w, SEQ);
  }

  /** Wakes every waiter; this thread must hold the mutex. */
  notifyAll(): void {
    this.notify(0x7fffffff);
  }

  /** `Condition(psm_1a2b3c4d@0)`. */
  override toString(): string {
    return `Condition(${this.descriptor.name}@${this.descriptor.offset}${this.closed ? ", closed" : ""})`;
  }

  /** Releases what this handle holds besides the segment. */
  protected override onClose(): void {
    if (this.#ownsMutex) this.#mutex.close();
  }

  /** Counts this caller as a waiter (holding the mutex), reads `seq`, releases the mutex. */
  #enter(options: WaitOptions | undefined) {
    const { timeout, signal } = checkWaitOptions(options);
    this.#checkHeld("wait");
    if (signal?.aborted) throw signal.reason;
    const w = this.#o.words;
    Atomics.store(w, WAITERS, w[WAITERS] + 1);
    const seq = Atomics.load(w, SEQ);
    this.#mutex.unlock();
    return { deadline: new Deadline(timeout), seq, signal };
  }

  /** Holding the mutex again: true if a signal was left for this waiter, false past the deadline, else undefined. */
  #leave(deadline: Deadline): boolean | undefined {
    const w = this.#o.words;
    if (w[SIGNALS] > 0) {
      Atomics.store(w, SIGNALS, w[SIGNALS] - 1);
      Atomics.store(w, WAITERS, w[WAITERS] - 1);
      return true;
    }
    if (deadline.passed) {
      this.#drop();
      return false;
    }
    return undefined;
  }

  /** Takes this waiter off the count, keeping signals <= waiters. */
  #drop(): void {
    const w = this.#o.words;
    const waiters = w[WAITERS] - 1;
    Atomics.store(w, WAITERS, waiters);
    if (w[SIGNALS] > waiters) Atomics.store(w, SIGNALS, Math.max(0, waiters));
  }

  /** A LockStateError unless this thread holds the mutex. */
  #checkHeld(what: string): void {
    this.checkOpen();
    if (!this.#mutex.heldByThisThread()) throw new LockStateError(`Condition.${what}: this thread must hold the mutex`);
  }
}

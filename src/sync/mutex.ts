/**
 * A mutex every process (and every thread: Workers exclude each other) can lock: a process-shared,
 * robust, error-checking `pthread_mutex_t` in the segment (`layout.ts`), the same one Python locks
 * through ctypes.
 *
 * Robust: when the holder dies however it dies (SIGKILL included), the kernel marks the lock word
 * OWNER_DIED and wakes one sleeper; the next locker gets the lock at once, and `ownerDied` is true
 * after that lock (the lock is made consistent again: the state it guarded may be half-updated).
 *
 * Ownership is per thread, as pthread's. So `lockAsync` never locks on another thread: it tries on the
 * calling thread, and in between sleeps asynchronously on the lock word itself, with the kernel's
 * FUTEX_WAITERS bit set in it as glibc's own sleepers do, so that `unlock` (glibc's, in any process)
 * and a dying owner both wake it.
 *
 * A held mutex stays reachable (`heldHere`) until it is unlocked: glibc links a held robust mutex into
 * the thread's robust list THROUGH the mutex's own bytes, and the kernel walks that list when the thread
 * dies. A handle dropped while held would otherwise be collected, and its mapping replaced by zero pages
 * (`src/mapping.ts`): the kernel would then read a list of zeros, mark nothing OWNER_DIED, and the next
 * locker would wait forever; glibc would write into those pages (or, once unmapped, fault) at this
 * thread's next robust lock. Seen in Node.js, whose GC collected a holder's dropped handle within
 * 30 ms of the lock.
 */
import { waitCalls } from "../../ffi/runtime.ts";
import type { MutexCalls } from "../../ffi/wait.ts";
import {
  type ObjectPlacement,
  type Placement,
  placeObject,
  segmentOf,
  SharedObject,
  type SharedObjectDescriptor,
} from "../shared_object.ts";
import { beforeSegmentCloses, type SharedMemory } from "../shared_memory.ts";
import { checkWaitOptions, futex, type WaitOptions } from "./futex.ts";
import { checkObject, Deadline, lockFailure, makeObject, type ObjectBytes, objectBytes, Spinner } from "./internal.ts";
import { LAYOUTS, LOCK, SYNC_ALIGNMENT } from "./layout.ts";

/** A mutex's hand-over form. */
export interface MutexDescriptor extends SharedObjectDescriptor {
  /** Always `"mutex"`. */
  readonly kind: "mutex";
}

/** Holding a mutex until disposed: `using held = mutex.hold()`, `await using held = await mutex.holdAsync()`. */
export interface MutexGuard extends Disposable, AsyncDisposable {
  /** Whether the previous owner died holding the mutex (the state it guarded may be half-updated). */
  readonly ownerDied: boolean;
}

const L = LAYOUTS.mutex;

/**
 * The mutexes this thread holds, most recent last: strong references, so that a held mutex (and the
 * mapping under it) outlives its hold however its handle is dropped (see the top of this file). Module
 * state is per thread: each Worker has its own, as it has its own robust list.
 */
const heldHere: Mutex[] = [];

/**
 * A segment closed under a mutex this thread holds in it closes that mutex's handle first, which
 * releases it (as `Mutex.close()` does): the robust list must never point into unmapped memory.
 */
beforeSegmentCloses((shm) => {
  for (const mutex of heldHere.filter((held) => segmentOf(held) === shm)) mutex.close();
});

/** A mutex in shared memory, robust against its holder dying. */
export class Mutex extends SharedObject<MutexDescriptor> {
  readonly #o: ObjectBytes;
  readonly #lock: Uint8Array;
  readonly #calls: MutexCalls;
  readonly #spinner = new Spinner();
  #ownerDied = false;

  private constructor(placement: Placement, create: boolean) {
    super(placement, "mutex", {});
    this.#o = objectBytes(placement, L.size);
    this.#lock = this.#o.bytes.subarray(LOCK.offset, LOCK.offset + LOCK.bytes);
    this.#calls = waitCalls().mutex;
    if (create) {
      makeObject(this.#o, "mutex", () => {
        const result = this.#calls.init(this.#lock);
        if (result !== 0) throw new Error(`pthread_mutex_init failed: error ${-result}`);
      });
    } else checkObject(this.#o, "mutex", placement);
  }

  /** The bytes a Mutex takes, for placing one with `{ shm, offset }`. */
  static readonly byteLength: number = L.size;

  /**
   * A new, unlocked mutex: in a small segment of its own, or at `offset` (a multiple of 8) in `shm`.
   *
   * @example
   * ```ts
   * import { Mutex } from "@shm/shared-memory";
   *
   * using mutex = Mutex.create();
   * {
   *   using held = mutex.hold();
   *   // ... change what the mutex guards; held.ownerDied says whether a holder died mid-change
   * }
   * // another process: Mutex.attach(mutex.descriptor)
   * ```
   */
  static create(options?: ObjectPlacement): Mutex {
    return placeObject({ size: L.size, alignment: SYNC_ALIGNMENT, options }, (placement) => new Mutex(placement, true));
  }

  /** The mutex another process described (its `descriptor`, that as JSON, or a segment name: offset 0). */
  static attach(descriptor: MutexDescriptor | string, options: { shm?: SharedMemory } = {}): Mutex {
    return placeObject(
      { kind: "mutex", size: L.size, alignment: SYNC_ALIGNMENT, descriptor, shm: options.shm },
      (placement) => new Mutex(placement, false),
    );
  }

  /**
   * Also a TypeError once the segment under this handle was closed (a borrowed one, closed by its
   * owner): every call here hands the mutex's address to pthread, and a closed segment's bytes are a
   * detached buffer, whose address the runtimes pass as NULL (a segfault in Deno and Bun).
   */
  protected override checkOpen(): void {
    super.checkOpen();
    if (this.#lock.length === 0) throw new TypeError(`this mutex's segment '${this.descriptor.name}' is closed`);
  }

  /** Whether the previous owner died holding the mutex, as of this handle's last successful lock. */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Takes the mutex if it is free: true if now held (false also when this thread holds it already). */
  tryLock(): boolean {
    this.checkOpen();
    const result = this.#calls.tryLock(this.#lock);
    if (result === -this.#calls.errors.EBUSY || result === -this.#calls.errors.EDEADLK) return false;
    return this.#took(result, "tryLock");
  }

  /**
   * Takes the mutex, blocking the calling thread: true when held, false when `timeout` (ms) passed.
   * A `signal` is only checked before waiting (nothing can abort it while this thread is blocked).
   * Throws a LockStateError if this thread already holds it.
   */
  lock(options?: WaitOptions): boolean {
    this.checkOpen();
    const calls = this.#calls;
    const result = calls.tryLock(this.#lock);
    if (result === 0) { // the fast path: no option is read, nothing is allocated
      this.#ownerDied = false;
      heldHere.push(this);
      return true;
    }
    return this.#lockSlowly(result, options);
  }

  #lockSlowly(first: number, options: WaitOptions | undefined): boolean {
    const { timeout, signal, spin } = checkWaitOptions(options);
    if (signal?.aborted) throw signal.reason;
    const calls = this.#calls;
    let result = first;
    if (result === -calls.errors.EBUSY && spin) {
      const word = this.#o.words;
      const index = LOCK.offset / 4;
      const tidMask = calls.lockWord?.tidMask ?? -1;
      const free = () => (Atomics.load(word, index) & tidMask) === 0;
      if (this.#spinner.spin(free)) result = calls.tryLock(this.#lock);
    }
    if (result === -calls.errors.EBUSY) result = calls.lock(this.#lock, timeout);
    if (result === -calls.errors.ETIMEDOUT) return false;
    return this.#took(result, "lock");
  }

  /**
   * Takes the mutex without blocking the event loop: resolves true when held, false after `timeout`;
   * an aborted `signal` rejects with its reason. Tasks of this thread exclude each other too.
   */
  async lockAsync(options?: WaitOptions): Promise<boolean> {
    this.checkOpen();
    const { timeout, signal } = checkWaitOptions(options);
    if (signal?.aborted) throw signal.reason;
    const calls = this.#calls;
    const { waiters, tidMask } = calls.lockWord!;
    const word = this.#o.words;
    const index = LOCK.offset / 4;
    const deadline = new Deadline(timeout);
    let slept = false;
    let taken = false;
    try {
      for (;;) {
        const result = calls.tryLock(this.#lock);
        // EDEADLK: another task of this thread holds it; it is released on this thread, so wait as for anyone
        if (result !== -calls.errors.EBUSY && result !== -calls.errors.EDEADLK) {
          // Woken by an unlock, this task took the wake-up meant for one sleeper, and trylock took the
          // word without FUTEX_WAITERS: set it again, as glibc's own woken lockers do, or the sleepers
          // still waiting (a blocking lock() anywhere) would get no wake at our unlock and sleep forever.
          if (slept && (result === 0 || result === -calls.errors.EOWNERDEAD)) Atomics.or(word, index, waiters);
          taken = this.#took(result, "lockAsync");
          return taken;
        }
        const seen = Atomics.load(word, index);
        if ((seen & tidMask) === 0) continue; // freed meanwhile (or its owner died): try again
        // Ask the unlocker to wake sleepers, as a glibc sleeper does, then sleep on the word.
        const marked = (seen | waiters) | 0;
        if (seen !== marked && Atomics.compareExchange(word, index, seen, marked) !== seen) continue;
        if (deadline.passed) return false;
        const left = deadline.left();
        slept = true;
        await futex.waitAsync(word, index, marked, left === Infinity ? { signal } : { timeout: left, signal });
        this.checkOpen();
      }
    } finally {
      // A wake-up this task was given and did not use (it timed out or was aborted) goes on: otherwise a
      // sleeper elsewhere could sleep on while the mutex is free. To every sleeper, whatever the word
      // holds: the unlock that woke us left it 0 (glibc clears FUTEX_WAITERS), a locker since may have
      // taken it without the bit, and this process's wait thread may still sleep on the word for another
      // entry and would take a wake of one. Only on a lock not taken, so never on the common path.
      if (slept && !taken && word.length > 0) futex.notify(word, index);
    }
  }

  /** Whether this thread holds the mutex (in an async program: this thread's tasks, any of them). */
  heldByThisThread(): boolean {
    this.checkOpen();
    // A word with no owner (free, or its owner died: the kernel leaves OWNER_DIED and no tid) is not this
    // thread's: say so without trylock, which would take a dead owner's lock, and making it consistent to
    // let it go again would keep the next real locker from hearing that the owner died.
    const tidMask = this.#calls.lockWord?.tidMask;
    if (tidMask !== undefined && (Atomics.load(this.#o.words, LOCK.offset / 4) & tidMask) === 0) return false;
    const result = this.#calls.tryLock(this.#lock);
    if (result === -this.#calls.errors.EDEADLK) return true;
    if (result === 0 || result === -this.#calls.errors.EOWNERDEAD) {
      if (result !== 0) this.#calls.consistent(this.#lock);
      this.#calls.unlock(this.#lock);
    }
    return false;
  }

  /** Releases the mutex; a LockStateError if this thread does not hold it. */
  unlock(): void {
    this.checkOpen();
    const result = this.#calls.unlock(this.#lock);
    if (result !== 0) throw lockFailure(this.#calls, result, "unlock");
    if (heldHere[heldHere.length - 1] === this) heldHere.pop(); // locks are mostly released last first
    else this.#forgetHold();
  }

  /** Takes this mutex off `heldHere`: this handle's entry, or else another handle's on the same mutex
   * (pthread lets any handle of the holding thread unlock it). */
  #forgetHold(): void {
    let at = heldHere.lastIndexOf(this);
    if (at < 0) {
      const { name, offset } = this.descriptor;
      at = heldHere.findLastIndex((m) => m.descriptor.name === name && m.descriptor.offset === offset);
    }
    if (at >= 0) heldHere.splice(at, 1);
  }

  /** `lock()` that returns a guard: `using held = mutex.hold()`. Throws a DOMException "TimeoutError" on timeout. */
  hold(options?: WaitOptions): MutexGuard {
    if (!this.lock(options)) throw timedOut();
    return this.#guard();
  }

  /** `lockAsync()` that resolves to a guard: `await using held = await mutex.holdAsync()`. */
  async holdAsync(options?: WaitOptions): Promise<MutexGuard> {
    if (!await this.lockAsync(options)) throw timedOut();
    return this.#guard();
  }

  /**
   * Releases the mutex first if this thread holds it: glibc keeps a held robust mutex on the thread's
   * robust list, a list linked THROUGH the mutexes' own bytes; once its segment is unmapped the kernel
   * could not hand the lock on when this thread dies, and glibc itself would touch unmapped memory.
   */
  protected override onClose(): void {
    // A segment closed first released a mutex held in it (beforeSegmentCloses): nothing is held here
    if (this.#lock.length > 0 && this.heldByThisThread()) {
      this.#calls.unlock(this.#lock);
      this.#forgetHold();
    }
  }

  /** `Mutex(psm_1a2b3c4d@0)`. */
  override toString(): string {
    return `Mutex(${this.descriptor.name}@${this.descriptor.offset}${this.closed ? ", closed" : ""})`;
  }

  #guard(): MutexGuard {
    const ownerDied = this.#ownerDied;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.unlock();
    };
    return {
      ownerDied,
      [Symbol.dispose]: release,
      [Symbol.asyncDispose]: () => Promise.resolve(release()),
    };
  }

  /** After a lock call: true when held (noting whether the owner had died), or an error. */
  #took(result: number, what: string): boolean {
    const calls = this.#calls;
    if (result === 0) {
      this.#ownerDied = false;
      heldHere.push(this);
      return true;
    }
    if (result === -calls.errors.EOWNERDEAD) {
      heldHere.push(this); // held from here on, consistent or not
      const consistent = calls.consistent(this.#lock);
      if (consistent !== 0) throw lockFailure(calls, consistent, "pthread_mutex_consistent");
      this.#ownerDied = true;
      return true;
    }
    throw lockFailure(calls, result, what);
  }
}

function timedOut(): DOMException {
  return new DOMException("the mutex was not free within the timeout", "TimeoutError");
}

/**
 * What every sync object shares: its internal robust lock, sleeping on its `seq` word (sync, or async
 * with a timeout and a signal), the short adaptive spin, and the errors.
 */
import { waitCalls } from "../../ffi/runtime.ts";
import type { MutexCalls } from "../../ffi/wait.ts";
import { checkHeader, markReady, type Placement, writeHeader } from "../shared_object.ts";
import { checkWaitOptions, futex, type WaitOptions } from "./futex.ts";
import { LOCK, SYNC_VERSION } from "./layout.ts";

/** A wrong use of a lock: unlocking one this thread does not hold, locking one it already holds. */
export class LockStateError extends Error {
  /** Made by the library; `message` says what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "LockStateError";
  }
}

/** A barrier that was broken (a party died, timed out, or `abort()` ran): Python's `BrokenBarrierError`. */
export class BrokenBarrierError extends Error {
  /** Made by the library; `message` says why. */
  constructor(message = "the barrier is broken") {
    super(message);
    this.name = "BrokenBarrierError";
  }
}

/** A failed lock call, in words. */
export function lockFailure(calls: MutexCalls, error: number, what: string): Error {
  const { errors } = calls;
  if (error === -errors.EDEADLK) return new LockStateError(`${what}: this thread already holds it`);
  if (error === -errors.EPERM) return new LockStateError(`${what}: this thread does not hold it`);
  if (error === -errors.ENOTRECOVERABLE) {
    return new LockStateError(`${what}: the lock is unrecoverable (an owner died and it was not made consistent)`);
  }
  return new Error(`${what} failed: error ${-error}`);
}

/** The object's bytes, and views of them: the typed arrays made once (a new one costs 330 ns in Deno). */
export interface ObjectBytes {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
}

export function objectBytes(placement: Placement, size: number): ObjectBytes {
  const bytes = placement.shm.view(placement.offset, size);
  return { bytes, words: new Int32Array(bytes.buffer, bytes.byteOffset, size / 4) };
}

/** A new object: header, then `init` (which sets its fields), then "ready". */
export function makeObject(o: ObjectBytes, kind: string, init: () => void): void {
  o.bytes.fill(0);
  writeHeader(o.bytes, kind, SYNC_VERSION);
  init();
  markReady(o.bytes);
}

export function checkObject(o: ObjectBytes, kind: string, placement: Placement): void {
  checkHeader(o.bytes, kind, SYNC_VERSION, placement);
}

/** The internal lock of a Semaphore, Event or Barrier: held only for a few loads and stores. */
export class InternalLock {
  readonly #lock: Uint8Array;
  readonly #calls: MutexCalls;

  constructor(o: ObjectBytes) {
    this.#lock = o.bytes.subarray(LOCK.offset, LOCK.offset + LOCK.bytes);
    this.#calls = waitCalls().mutex;
  }

  /** Makes the lock (a new object). */
  init(): void {
    const result = this.#calls.init(this.#lock);
    if (result !== 0) throw new Error(`pthread_mutex_init failed: error ${-result}`);
  }

  /** Runs `body` holding the lock. A holder that died mid-change left at most one field half-done: every
   * change here is a single store, so the state is taken as it is and the lock made consistent. */
  run<T>(body: () => T): T {
    const calls = this.#calls;
    const result = calls.lock(this.#lock, Infinity);
    if (result === -calls.errors.EOWNERDEAD) calls.consistent(this.#lock);
    else if (result !== 0) throw lockFailure(calls, result, "the internal lock");
    try {
      return body();
    } finally {
      calls.unlock(this.#lock);
    }
  }
}

/** How long a wait may still take, from its options. */
export class Deadline {
  readonly #end: number;
  constructor(timeout: number) {
    this.#end = timeout === Infinity ? Infinity : performance.now() + timeout;
  }
  /** Milliseconds left (Infinity: no limit), never below 0. */
  left(): number {
    return this.#end === Infinity ? Infinity : Math.max(0, this.#end - performance.now());
  }
  get passed(): boolean {
    return this.left() === 0;
  }
}

/**
 * The spin before a sleep (`{ spin: true }`): only with more than one usable CPU (on one, it burns the time slice of the
 * process it waits for: 114-443 us a round trip, measured). A spin can only pay when the other side is
 * awake too, so it must outlast the other side's turn: between 1,000 and 20,000 loads (about 3 to 60
 * us here), growing to four times what the last success took and shrinking by an eighth on each failure.
 */
export class Spinner {
  static #cpus: number | undefined;
  static readonly MIN = 1000;
  static readonly MAX = 20_000;
  #limit = Spinner.MIN;

  /** Spins while `ready()` is false, at most the current limit: whether it became true. */
  spin(ready: () => boolean): boolean {
    Spinner.#cpus ??= waitCalls().usableCpus();
    if (Spinner.#cpus < 2) return ready();
    return this.spinAnyway(ready);
  }

  /**
   * `spin` without the rule on this process's CPUs, for a caller that knows the other side runs on
   * another CPU now (a channel: each side publishes its CPU), which pinned apart has one usable CPU.
   */
  spinAnyway(ready: () => boolean): boolean {
    const limit = this.#limit;
    for (let i = 0; i < limit; i++) {
      if (ready()) {
        this.#limit = Math.min(Spinner.MAX, Math.max(limit, 4 * i + 100));
        return true;
      }
    }
    this.#limit = Math.max(Spinner.MIN, limit - (limit >> 3));
    return false;
  }
}

/** What one try under the lock says: done with a value, or sleep on `seq` while it holds this value. */
export type Attempt<T> = { done: true; value: T } | { done: false; seq: number };

/**
 * The loop of every blocking wait: try; sleep on `seqWord[seqIndex]` while it holds the value the try
 * read under the lock; try again; until done or the deadline (then `onTimeout()`). `after` runs after
 * each sleep (to take the waiter off the count).
 */
export function waitLoop<T>(
  seqWord: Int32Array,
  seqIndex: number,
  options: WaitOptions | undefined,
  attempt: () => Attempt<T>,
  onTimeout: () => T,
  after: () => void = () => {},
  spinner?: Spinner,
): T {
  const { timeout, signal, spin } = checkWaitOptions(options);
  if (signal?.aborted) throw signal.reason;
  const deadline = new Deadline(timeout);
  for (;;) {
    const tried = attempt();
    if (tried.done) return tried.value;
    try {
      if (deadline.passed) return onTimeout();
      if (spin && spinner?.spin(() => Atomics.load(seqWord, seqIndex) !== tried.seq)) continue;
      futex.wait(seqWord, seqIndex, tried.seq, deadline.left());
    } finally {
      after();
    }
  }
}

/** `waitLoop` without blocking: sleeps with `futex.waitAsync`; an aborted signal rejects with its reason. */
export async function waitLoopAsync<T>(
  seqWord: Int32Array,
  seqIndex: number,
  options: WaitOptions | undefined,
  attempt: () => Attempt<T>,
  onTimeout: () => T,
  after: () => void = () => {},
): Promise<T> {
  const { timeout, signal } = checkWaitOptions(options);
  if (signal?.aborted) throw signal.reason;
  const deadline = new Deadline(timeout);
  for (;;) {
    const tried = attempt();
    if (tried.done) return tried.value;
    try {
      if (deadline.passed) return onTimeout();
      const left = deadline.left();
      await futex.waitAsync(seqWord, seqIndex, tried.seq, left === Infinity ? { signal } : { timeout: left, signal });
    } finally {
      after();
    }
  }
}

/**
 * `Atomics.wait` / `Atomics.notify` that work across processes, on an `Int32Array` over a segment:
 * `Atomics.wait` throws on a mapping (it is not a SharedArrayBuffer) and `Atomics.notify` wakes no one
 * in another process. This goes to the kernel instead (Linux: the futex system call, shared, not
 * PRIVATE, so the word is found by its page in the segment whatever address each process maps it at).
 *
 * Async waits share threads: every pending `waitAsync` of this process on the same word and the same
 * expected value is one entry, and up to 127 entries are waited on by ONE blocked thread
 * (`futex_waitv`; Deno's pool, the kernel itself through io_uring in Bun and Node, else a Worker:
 * `ffi/wait.ts`, `ffi/uring.ts`). When the kernel wakes that thread
 * for an entry, every JS waiter of the entry resolves "ok": a notify from another process with a count
 * wakes this process's thread once, which cannot tell how many of the JS waiters it meant, so all of
 * them wake (a wake-up more than asked for, which every object built on futexes checks for anyway).
 */
import { waitCalls } from "../../ffi/runtime.ts";
import type { OffLoopWaiter, WaitResult } from "../../ffi/wait.ts";
import { describe } from "../arguments.ts";
import { isMappedBuffer } from "../mapping.ts";
import { beforeSegmentCloses } from "../shared_memory.ts";

export type { WaitResult };

/** Options of `futex.waitAsync` (and of every wait of the sync objects). */
export interface WaitOptions {
  /** Milliseconds to wait at most (default: no limit). 0 checks once. */
  timeout?: number;
  /** Cancels the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Sync waits of the objects (`Mutex.lock`, `Semaphore.acquire`, `Event.wait`): spin briefly before
   * sleeping (default false; never where this process may run on one CPU only). It pays when the waker
   * runs on another CPU at that moment: C's round trip across CPUs drops from 57 us to 0.5 us on an idle
   * machine here; on a busy one the spins fail and cost 2-3x. Async waits never spin.
   */
  spin?: boolean;
}

/** The largest count the kernel takes: "wake everyone". */
const ALL = 0x7fffffff;

/** Each buffer's address, read once (a mapping's buffer never moves). */
const bases = new WeakMap<ArrayBufferLike, number>();

/** The view last seen and the address of its element 0: a loop waiting on one word skips the checks and
 * the WeakMap (that one view is kept alive until another is used). The view seen before it too: a
 * request/reply loop notifies one channel's words and sleeps on another's, every time. */
let lastView: Int32Array | undefined;
let lastBase = 0;
let otherView: Int32Array | undefined;
let otherBase = 0;

/** The address of `int32[index]`, after checking both. */
function addressOf(int32: Int32Array, index: number, what: string): number {
  // The same view as last time: it is an Int32Array over shared memory; only the index needs checking
  // (a closed segment's view has length 0 and fails here).
  if (int32 === lastView && (index >>> 0) === index && index < int32.length) return lastBase + index * 4;
  if (int32 === otherView && (index >>> 0) === index && index < int32.length) {
    const base = otherBase;
    otherView = lastView;
    otherBase = lastBase;
    lastView = int32;
    lastBase = base;
    return base + index * 4;
  }
  if (!(int32 instanceof Int32Array)) throw new TypeError(`${what} needs an Int32Array, got ${describe(int32)}`);
  if (!Number.isInteger(index)) throw new TypeError(`index must be an integer, got ${describe(index)}`);
  if (index < 0 || index >= int32.length) {
    throw new RangeError(
      int32.length === 0
        ? `${what} on an empty Int32Array (is its segment closed?)`
        : `index ${index} is out of range for an Int32Array of length ${int32.length}`,
    );
  }
  const buffer = int32.buffer;
  let base = bases.get(buffer);
  if (base === undefined) {
    // A plain ArrayBuffer's memory may move (Bun moves small ones), and no other process sees it.
    if (!(buffer instanceof SharedArrayBuffer) && !isMappedBuffer(buffer)) {
      throw new TypeError(`${what} needs an Int32Array over a shared memory segment (or a SharedArrayBuffer)`);
    }
    base = waitCalls().addressOf(buffer);
    bases.set(buffer, base);
  }
  otherView = lastView;
  otherBase = lastBase;
  lastView = int32;
  lastBase = base + int32.byteOffset;
  return lastBase + index * 4;
}

/** A timeout as `Atomics.wait` reads one: missing or NaN is no limit, below 0 is 0. */
function timeoutOf(timeout: unknown): number {
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== "number") {
    throw new TypeError(`timeout must be a number of milliseconds, got ${describe(timeout)}`);
  }
  if (Number.isNaN(timeout)) return Infinity;
  return Math.max(0, timeout);
}

function expectedOf(expected: unknown): number {
  if (typeof expected !== "number") throw new TypeError(`expected must be a number, got ${describe(expected)}`);
  return expected | 0;
}

const NO_OPTIONS = Object.freeze({ timeout: Infinity, signal: undefined, spin: false });

/** Checks `options` of a wait: `{ timeout?, signal? }`. Exported for the sync objects. */
export function checkWaitOptions(
  options: unknown,
): { timeout: number; signal: AbortSignal | undefined; spin: boolean } {
  if (options === undefined) return NO_OPTIONS;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`options must be an object such as { timeout: 100 }, got ${describe(options)}`);
  }
  const { timeout, signal, spin = false } = options as WaitOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (typeof spin !== "boolean") throw new TypeError(`spin must be a boolean, got ${describe(spin)}`);
  return { timeout: timeoutOf(timeout), signal, spin };
}

/** One pending `waitAsync`: its promise's two ends, and what may cancel it. */
class Waiter {
  readonly entry: Entry;
  readonly resolve: (result: WaitResult) => void;
  readonly reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(entry: Entry, resolve: (result: WaitResult) => void, reject: (error: unknown) => void) {
    this.entry = entry;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Ends this wait (a timeout, an abort, or its entry woken); `fromEntry`: the entry has let go of it already. */
  settle(result: WaitResult | Error, fromEntry = false): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener("abort", this.onAbort);
    if (!fromEntry) this.entry.leave(this);
    if (typeof result === "string") this.resolve(result);
    else this.reject(result);
  }
}

/**
 * The JS waiters of one word and one expected value. Entries are found by address (`entries`); the
 * few of one address with other expected values are chained by `next`.
 */
class Entry {
  readonly waiters: Waiter[] = [];
  readonly view: Int32Array;
  readonly index: number;
  readonly address: number;
  readonly expected: number;
  readonly group: Group;
  next: Entry | undefined = undefined;
  constructor(view: Int32Array, index: number, address: number, expected: number, group: Group) {
    this.view = view;
    this.index = index;
    this.address = address;
    this.expected = expected;
    this.group = group;
  }

  /** Takes `waiter` off; the last one to leave takes the entry away (and the thread off its word). */
  leave(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    if (this.waiters.length > 0) return;
    forget(this);
    this.group.remove(this);
  }

  /** Wakes every waiter with `result` and forgets the entry. */
  wake(result: WaitResult | Error): void {
    forget(this);
    this.group.entries.delete(this);
    // Settled as from the entry: a waiter settled here must not go on to interrupt the thread (it has
    // returned); settling runs no caller code (promise reactions are microtasks), so the list stays as it is.
    const waiters = this.waiters;
    for (let i = 0; i < waiters.length; i++) waiters[i].settle(result, true);
    waiters.length = 0;
  }

  /** After a wait that ended without naming this entry: wakes it if its word changed. */
  recheck(): void {
    if (this.view.length === 0) this.wake(new TypeError("the segment was closed while waiting on it"));
    else if (Atomics.load(this.view, this.index) !== this.expected) this.wake("ok");
  }
}

/** Up to `capacity` entries and the thread that waits on them. */
class Group {
  readonly entries = new Set<Entry>();
  #running = false;
  readonly thread: OffLoopWaiter;
  // The set waited on, made again for each wait of the thread without new arrays
  readonly #waited: Entry[] = [];
  readonly #addresses: number[] = [];
  readonly #expected: number[] = [];
  constructor(thread: OffLoopWaiter) {
    this.thread = thread;
  }

  get full(): boolean {
    return this.entries.size >= this.thread.capacity;
  }

  add(entry: Entry): void {
    this.entries.add(entry);
    if (this.#running) this.thread.interrupt();
    else this.#next();
  }

  remove(entry: Entry): void {
    this.entries.delete(entry);
    // The thread may go on waiting on a word no one here waits for: a wake-up it takes there is passed on
    // (#answered), so it costs a wake-up, never one lost; with no entry left, the thread stops waiting.
    if (this.entries.size === 0) this.thread.interrupt();
  }

  /** Waits on the entries there are now (the thread's next wait), or stops when there are none. Callbacks
   * rather than an async loop: one promise and one resumption fewer per wake-up (measured: a wait woken at
   * once cost 0.5-0.9 us of JS). */
  #next(): void {
    const waited = this.#waited;
    const addresses = this.#addresses;
    const expected = this.#expected;
    waited.length = addresses.length = expected.length = 0;
    if (this.entries.size === 0) {
      this.#running = false;
      return;
    }
    this.#running = true;
    for (const entry of this.entries) {
      waited.push(entry);
      addresses.push(entry.address);
      expected.push(entry.expected);
    }
    let answer: Promise<number>;
    try {
      answer = this.thread.wait(addresses, expected);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(this.#answered, this.#failed);
  }

  readonly #answered = (index: number): void => {
    const waited = this.#waited;
    try {
      if (index >= 0) {
        if (this.entries.has(waited[index])) waited[index].wake("ok");
        // Its waiters all left (aborted, timed out) while the thread slept on it: the wake-up it took was
        // meant for some sleeper, maybe in another process, so it goes on to the word's next one.
        else waitCalls().wake(this.#addresses[index], 1);
      }
      // Entries added meanwhile are waited on next time round; the others may have changed unseen.
      for (const entry of waited) if (this.entries.has(entry)) entry.recheck();
    } catch (error) {
      return this.#failed(error);
    }
    this.#next();
  };

  /** The waiting thread failed (a Worker that could not start): every waiter hears it, none hangs. */
  readonly #failed = (error: unknown): void => {
    this.#waited.length = 0;
    this.#running = false;
    for (const entry of [...this.entries]) entry.wake(error instanceof Error ? error : new Error(String(error)));
  };
}

/**
 * A segment closing under pending waits: each thread that waits is interrupted, so that its entries are
 * checked again, and those on the closed segment (their views now empty) reject at once instead of
 * sleeping on until a wake-up that may never come (Deno's pool thread waits with no time limit).
 */
beforeSegmentCloses(() => {
  for (const group of groups) if (group.entries.size > 0) group.thread.interrupt();
});

/** Every entry, by address (then by `next`). */
const entries = new Map<number, Entry>();
const groups: Group[] = [];

/** Takes `entry` out of `entries`. */
function forget(entry: Entry): void {
  let first = entries.get(entry.address);
  if (first === entry) {
    if (entry.next) entries.set(entry.address, entry.next);
    else entries.delete(entry.address);
    return;
  }
  for (; first; first = first.next) {
    if (first.next === entry) {
      first.next = entry.next;
      return;
    }
  }
}

function entryFor(view: Int32Array, index: number, address: number, expected: number): Entry {
  const first = entries.get(address);
  for (let entry = first; entry; entry = entry.next) if (entry.expected === expected) return entry;
  let group: Group | undefined;
  for (const g of groups) {
    if (!g.full) {
      group = g;
      break;
    }
  }
  if (!group) groups.push(group = new Group(waitCalls().offLoop()));
  const entry = new Entry(view, index, address, expected, group);
  entry.next = first;
  entries.set(address, entry);
  group.add(entry);
  return entry;
}

function waitAsync(int32: Int32Array, index: number, expected: number, options?: WaitOptions): Promise<WaitResult> {
  const address = addressOf(int32, index, "futex.waitAsync");
  const value = expectedOf(expected);
  const { timeout, signal } = checkWaitOptions(options);
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (Atomics.load(int32, index) !== value) return Promise.resolve("not-equal");
  if (timeout === 0) return Promise.resolve("timed-out");
  const { promise, resolve, reject } = Promise.withResolvers<WaitResult>();
  const entry = entryFor(int32, index, address, value);
  const waiter = new Waiter(entry, resolve, reject);
  entry.waiters.push(waiter);
  if (timeout !== Infinity) waiter.timer = setTimeout(() => waiter.settle("timed-out"), timeout);
  if (signal) {
    waiter.signal = signal;
    waiter.onAbort = () => waiter.settle(signal.reason);
    signal.addEventListener("abort", waiter.onAbort, { once: true });
  }
  return promise;
}

/** The three calls of `futex`. */
export interface Futex {
  /**
   * Sleeps while `int32[index]` holds `expected`, blocking the calling thread, until another thread or
   * process calls `notify` on it, or `timeoutMs` passes (default: no limit): `"ok"` when woken,
   * `"not-equal"` when the word did not hold `expected`, `"timed-out"`.
   */
  wait(int32: Int32Array, index: number, expected: number, timeoutMs?: number): WaitResult;
  /**
   * The same without blocking: the event loop keeps running (timers fire, I/O goes on) and the promise
   * resolves to the same three answers. An aborted `signal` rejects with `signal.reason`.
   */
  waitAsync(int32: Int32Array, index: number, expected: number, options?: WaitOptions): Promise<WaitResult>;
  /**
   * Wakes up to `count` sleepers on `int32[index]` (default: all), in this and every other process, and
   * returns how many woke. A process waiting asynchronously counts as one whatever its number of
   * pending `waitAsync` calls on that word.
   */
  notify(int32: Int32Array, index: number, count?: number): number;
}

/**
 * Waiting and waking on a 32-bit word of shared memory, across processes: `Atomics.wait` and
 * `Atomics.notify` for segments (any `Int32Array` over a `SharedMemory`, or a SharedArrayBuffer).
 * Linux only for now (the futex system call); Python has the same as `shm_interop.sync.futex_wait` and
 * `futex_notify`.
 *
 * @example Wait for another process (here, a timer) to change a word
 * ```ts
 * import { futex, SharedMemory } from "@shm/shared-memory";
 *
 * using shm = new SharedMemory({ create: true, size: 64 });
 * const words = new Int32Array(shm.buf.buffer);
 * setTimeout(() => {
 *   Atomics.store(words, 0, 1);
 *   futex.notify(words, 0);
 * }, 10);
 * const answer = await futex.waitAsync(words, 0, 0, { timeout: 5000 }); // "ok"
 * futex.wait(words, 0, 0); // "not-equal": the word is 1 now
 * ```
 */
export const futex: Futex = {
  /**
   * Sleeps while `int32[index]` holds `expected`, blocking the calling thread, until another thread or
   * process calls `notify` on it, or `timeoutMs` passes (default: no limit): `"ok"` when woken,
   * `"not-equal"` when the word did not hold `expected`, `"timed-out"`.
   */
  wait(int32: Int32Array, index: number, expected: number, timeoutMs?: number): WaitResult {
    const address = addressOf(int32, index, "futex.wait");
    return waitCalls().wait(address, expectedOf(expected), timeoutOf(timeoutMs));
  },

  /**
   * The same without blocking: the event loop keeps running (timers fire, I/O goes on) and the promise
   * resolves to the same three answers. An aborted `signal` rejects with `signal.reason`.
   */
  waitAsync,

  /**
   * Wakes up to `count` sleepers on `int32[index]` (default: all), in this and every other process, and
   * returns how many woke. A process waiting asynchronously counts as one whatever its number of
   * pending `waitAsync` calls on that word.
   */
  notify(int32: Int32Array, index: number, count?: number): number {
    const address = addressOf(int32, index, "futex.notify");
    let n = ALL;
    if (count !== undefined) {
      if (typeof count !== "number" || Number.isNaN(count)) {
        throw new TypeError(`count must be a number, got ${describe(count)}`);
      }
      n = Math.min(ALL, Math.max(0, Math.floor(count)));
    }
    return waitCalls().wake(address, n);
  },
};

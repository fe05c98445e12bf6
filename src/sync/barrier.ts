/**
 * A barrier for a fixed number of parties, across processes: Python's `threading.Barrier`. The
 * `parties`-th arrival trips it and every waiter returns its arrival index (0 for the first).
 *
 * A party that dies breaks it for the others (a BrokenBarrierError, never a hang): every process
 * holding a handle writes its pid in the barrier's slots (`layout.ts`) and takes it out on `close()`;
 * a waiter checks every 100 ms that the processes in the slots are alive, and breaks the barrier when
 * one is not. So a process that ends holding a handle counts as a party that died: close it (or
 * `using`) when done. Workers share their process's pid: a Worker that dies is not noticed.
 *
 * `seq` moves by one when the barrier trips, when it breaks, and when `reset()` ends a broken state;
 * `brokenAt` (the `broken` word) holds the `seq` a break moved it to, so a waiter of generation g tells
 * "it tripped" (seq > g, brokenAt != g + 1) from "it broke" (brokenAt == g + 1). Broken: brokenAt == seq.
 */
import { waitCalls } from "../../ffi/runtime.ts";
import {
  type ObjectPlacement,
  type Placement,
  placeObject,
  SharedObject,
  type SharedObjectDescriptor,
} from "../shared_object.ts";
import type { SharedMemory } from "../shared_memory.ts";
import { describe } from "../arguments.ts";
import { checkWaitOptions, futex, type WaitOptions } from "./futex.ts";
import {
  BrokenBarrierError,
  checkObject,
  Deadline,
  InternalLock,
  makeObject,
  type ObjectBytes,
  objectBytes,
} from "./internal.ts";
import { LAYOUTS, SYNC_ALIGNMENT } from "./layout.ts";

/** A barrier's hand-over form. */
export interface BarrierDescriptor extends SharedObjectDescriptor {
  /** Always `"barrier"`. */
  readonly kind: "barrier";
}

/** Options of `Barrier.create`. */
export interface BarrierOptions extends ObjectPlacement {
  /** How many parties must call `wait` for it to trip (at least 1). */
  parties: number;
}

const L = LAYOUTS.barrier;
const PARTIES = L.parties / 4;
const COUNT = L.count / 4;
const SEQ = L.seq / 4;
const BROKEN_AT = L.broken / 4;
const SLOTS = L.slots / 4;
/** How often a waiter checks that the other processes are alive. */
const LIVENESS_MS = 100;

/** A barrier in shared memory. */
export class Barrier extends SharedObject<BarrierDescriptor> {
  readonly #o: ObjectBytes;
  readonly #lock: InternalLock;
  readonly #pid = waitCalls().pid;

  private constructor(placement: Placement, parties?: number) {
    super(placement, "barrier", {});
    this.#o = objectBytes(placement, L.size);
    this.#lock = new InternalLock(this.#o);
    if (parties !== undefined) {
      makeObject(this.#o, "barrier", () => {
        this.#lock.init();
        this.#o.words[PARTIES] = parties;
        this.#o.words[BROKEN_AT] = -1;
      });
    } else {
      checkObject(this.#o, "barrier", placement);
      const found = this.#o.words[PARTIES];
      if (found < 1) {
        throw new RangeError(`segment '${placement.shm.name}' holds a barrier of ${found} parties`);
      }
    }
    this.#register(1);
  }

  /** The bytes a barrier takes, for placing one with `{ shm, offset }`. */
  static readonly byteLength: number = L.size;

  /**
   * A new barrier for `parties` parties: in a small segment of its own, or at `offset` in `shm`.
   *
   * @example
   * ```ts
   * import { Barrier } from "@shm/shared-memory";
   *
   * using barrier = Barrier.create({ parties: 1 });
   * barrier.wait(); // 0: the one party has arrived, so it trips at once
   * ```
   */
  static create(options: BarrierOptions): Barrier {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`options must be an object such as { parties: 2 }, got ${describe(options)}`);
    }
    const { parties, ...placementOptions } = options;
    if (typeof parties !== "number") throw new TypeError(`parties must be a number, got ${describe(parties)}`);
    if (!Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw new RangeError(`parties must be a whole number >= 1, got ${parties}`);
    }
    return placeObject(
      { size: L.size, alignment: SYNC_ALIGNMENT, options: placementOptions },
      (placement) => new Barrier(placement, parties),
    );
  }

  /** The barrier another process described (its `descriptor`, that as JSON, or a segment name). */
  static attach(descriptor: BarrierDescriptor | string, options: { shm?: SharedMemory } = {}): Barrier {
    return placeObject(
      { kind: "barrier", size: L.size, alignment: SYNC_ALIGNMENT, descriptor, shm: options.shm },
      (placement) => new Barrier(placement),
    );
  }

  /** How many parties it waits for. */
  get parties(): number {
    this.checkOpen();
    return Atomics.load(this.#o.words, PARTIES);
  }

  /** How many are waiting now. */
  get nWaiting(): number {
    this.checkOpen();
    return Atomics.load(this.#o.words, COUNT);
  }

  /** Whether it is broken (until `reset()`). */
  get broken(): boolean {
    this.checkOpen();
    return Atomics.load(this.#o.words, BROKEN_AT) === Atomics.load(this.#o.words, SEQ);
  }

  /**
   * Waits until `parties` parties have called `wait`: this one's arrival index (0 for the first). A
   * BrokenBarrierError if it is broken or breaks meanwhile; a timeout breaks it (as in Python).
   */
  wait(options?: WaitOptions): number {
    const { timeout } = checkWaitOptions(options);
    const arrival = this.#arrive();
    if (arrival.tripped) return arrival.index;
    const deadline = new Deadline(timeout);
    for (;;) {
      const left = deadline.left();
      futex.wait(this.#o.words, SEQ, arrival.seq, Math.min(left, LIVENESS_MS));
      const index = this.#check(arrival, deadline);
      if (index !== undefined) return index;
    }
  }

  /** `wait` without blocking the event loop; an aborted signal breaks the barrier and rejects with its reason. */
  async waitAsync(options?: WaitOptions): Promise<number> {
    const { timeout, signal } = checkWaitOptions(options);
    if (signal?.aborted) throw signal.reason;
    const arrival = this.#arrive();
    if (arrival.tripped) return arrival.index;
    const deadline = new Deadline(timeout);
    for (;;) {
      const left = Math.min(deadline.left(), LIVENESS_MS);
      try {
        await futex.waitAsync(this.#o.words, SEQ, arrival.seq, { timeout: left, signal });
      } catch (reason) {
        this.abort();
        throw reason;
      }
      const index = this.#check(arrival, deadline);
      if (index !== undefined) return index;
    }
  }

  /** Breaks the barrier: every waiter, now and until `reset()`, gets a BrokenBarrierError. */
  abort(): void {
    this.checkOpen();
    this.#lock.run(() => this.#break());
  }

  /** Back to its first state; parties waiting now get a BrokenBarrierError. */
  reset(): void {
    this.checkOpen();
    const w = this.#o.words;
    this.#lock.run(() => {
      if (w[COUNT] > 0) this.#break();
      // Past the broken generation: its waiters still read `brokenAt` as theirs, later ones do not.
      if (w[BROKEN_AT] === w[SEQ]) Atomics.store(w, SEQ, w[SEQ] + 1);
      Atomics.store(w, COUNT, 0);
    });
  }

  /** `Barrier(psm_1a2b3c4d@0, parties=3)`. */
  override toString(): string {
    const { name, offset } = this.descriptor;
    return `Barrier(${name}@${offset}${this.closed ? ", closed" : `, parties=${this.parties}`})`;
  }

  /** Releases what this handle holds besides the segment. */
  protected override onClose(): void {
    this.#register(-1);
  }

  /** Under the lock: counts this party in, and trips the barrier if it is the last. */
  #arrive(): { index: number; seq: number; tripped: boolean } {
    this.checkOpen();
    const w = this.#o.words;
    const arrival = this.#lock.run(() => {
      const seq = w[SEQ];
      if (w[BROKEN_AT] === seq) throw new BrokenBarrierError();
      const index = w[COUNT];
      if (index + 1 >= w[PARTIES]) {
        Atomics.store(w, COUNT, 0);
        Atomics.store(w, SEQ, seq + 1);
        return { index, seq, tripped: true };
      }
      Atomics.store(w, COUNT, index + 1);
      return { index, seq, tripped: false };
    });
    if (arrival.tripped) futex.notify(w, SEQ);
    return arrival;
  }

  /** After a sleep: the index once tripped; a BrokenBarrierError once broken, dead party or timed out. */
  #check(arrival: { index: number; seq: number }, deadline: Deadline): number | undefined {
    this.checkOpen();
    const w = this.#o.words;
    return this.#lock.run(() => {
      if (w[SEQ] !== arrival.seq) {
        if (w[BROKEN_AT] === arrival.seq + 1) throw new BrokenBarrierError();
        return arrival.index;
      }
      const dead = this.#deadProcess();
      if (dead !== undefined) {
        this.#break();
        throw new BrokenBarrierError(`the barrier is broken: process ${dead}, a party, died`);
      }
      if (deadline.passed) {
        this.#break();
        throw new BrokenBarrierError("the barrier is broken: a wait timed out");
      }
      return undefined;
    });
  }

  /** Holding the lock: breaks the barrier (once) and wakes every waiter. */
  #break(): void {
    const w = this.#o.words;
    if (w[BROKEN_AT] === w[SEQ]) return;
    Atomics.store(w, SEQ, w[SEQ] + 1);
    Atomics.store(w, BROKEN_AT, w[SEQ]);
    Atomics.store(w, COUNT, 0);
    futex.notify(w, SEQ);
  }

  /** Holding the lock: a pid in the slots that is no longer alive (its slot is freed), or undefined. */
  #deadProcess(): number | undefined {
    const w = this.#o.words;
    const calls = waitCalls();
    for (let i = 0; i < L.slotCount; i++) {
      const pid = w[SLOTS + 2 * i];
      if (pid === 0 || pid === this.#pid || calls.alive(pid)) continue;
      Atomics.store(w, SLOTS + 2 * i, 0);
      Atomics.store(w, SLOTS + 2 * i + 1, 0);
      return pid;
    }
    return undefined;
  }

  /** Adds (`1`) or takes out (`-1`) one handle of this process in the slots. A full table skips it. */
  #register(delta: 1 | -1): void {
    const w = this.#o.words;
    this.#lock.run(() => {
      let free = -1;
      for (let i = 0; i < L.slotCount; i++) {
        const pid = w[SLOTS + 2 * i];
        if (pid === this.#pid) {
          const handles = w[SLOTS + 2 * i + 1] + delta;
          Atomics.store(w, SLOTS + 2 * i + 1, Math.max(0, handles));
          if (handles <= 0) Atomics.store(w, SLOTS + 2 * i, 0);
          return;
        }
        if (pid === 0 && free < 0) free = i;
      }
      if (delta === 1 && free >= 0) {
        Atomics.store(w, SLOTS + 2 * free, this.#pid);
        Atomics.store(w, SLOTS + 2 * free + 1, 1);
      }
    });
  }
}

/**
 * An event flag every process can set, clear and wait for: Python's `threading.Event` across
 * processes. `set` stores the flag and bumps `seq` under the internal lock (`layout.ts`) and wakes every
 * sleeper; a waiter reads `seq`, then the flag, then sleeps on `seq`, so a `set` in between is seen.
 */
import {
  type ObjectPlacement,
  type Placement,
  placeObject,
  SharedObject,
  type SharedObjectDescriptor,
} from "../shared_object.ts";
import type { SharedMemory } from "../shared_memory.ts";
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

/** An event's hand-over form. */
export interface EventDescriptor extends SharedObjectDescriptor {
  /** Always `"event"`. */
  readonly kind: "event";
}

const L = LAYOUTS.event;

/** An event flag in shared memory. (It shadows the DOM's `Event` where it is imported: `import { Event as SharedEvent }` keeps both.) */
export class Event extends SharedObject<EventDescriptor> {
  readonly #o: ObjectBytes;
  readonly #lock: InternalLock;
  readonly #spinner = new Spinner();

  private constructor(placement: Placement, create: boolean) {
    super(placement, "event", {});
    this.#o = objectBytes(placement, L.size);
    this.#lock = new InternalLock(this.#o);
    if (create) makeObject(this.#o, "event", () => this.#lock.init());
    else checkObject(this.#o, "event", placement);
  }

  /** The bytes an event takes, for placing one with `{ shm, offset }`. */
  static readonly byteLength: number = L.size;

  /**
   * A new event, not set: in a small segment of its own, or at `offset` in `shm`.
   *
   * @example
   * ```ts
   * import { Event } from "@shm/shared-memory";
   *
   * using ready = Event.create();
   * setTimeout(() => ready.set(), 10); // or another process, after Event.attach(ready.descriptor)
   * await ready.waitAsync({ timeout: 5000 }); // true
   * ```
   */
  static create(options?: ObjectPlacement): Event {
    return placeObject({ size: L.size, alignment: SYNC_ALIGNMENT, options }, (placement) => new Event(placement, true));
  }

  /** The event another process described (its `descriptor`, that as JSON, or a segment name). */
  static attach(descriptor: EventDescriptor | string, options: { shm?: SharedMemory } = {}): Event {
    return placeObject(
      { kind: "event", size: L.size, alignment: SYNC_ALIGNMENT, descriptor, shm: options.shm },
      (placement) => new Event(placement, false),
    );
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    this.checkOpen();
    return Atomics.load(this.#o.words, L.flag / 4) !== 0;
  }

  /** Sets the flag and wakes every waiter, in every process. */
  set(): void {
    this.checkOpen();
    const w = this.#o.words;
    const wake = this.#lock.run(() => {
      Atomics.store(w, L.flag / 4, 1);
      Atomics.add(w, L.seq / 4, 1);
      return Atomics.load(w, L.waiters / 4) > 0;
    });
    if (wake) futex.notify(w, L.seq / 4);
  }

  /** Clears the flag. */
  clear(): void {
    this.checkOpen();
    const w = this.#o.words;
    this.#lock.run(() => Atomics.store(w, L.flag / 4, 0));
  }

  /** Blocks until the flag is set: true, or (after `timeout` ms) whether it is set then. */
  wait(options?: WaitOptions): boolean {
    this.checkOpen();
    if (this.isSet()) return true;
    return waitLoop(this.#o.words, L.seq / 4, options, this.#attempt, () => this.isSet(), this.#leave, this.#spinner);
  }

  /** `wait` without blocking the event loop; an aborted signal rejects with its reason. */
  waitAsync(options?: WaitOptions): Promise<boolean> {
    this.checkOpen();
    return waitLoopAsync(this.#o.words, L.seq / 4, options, this.#attempt, () => this.isSet(), this.#leave);
  }

  /** `Event(psm_1a2b3c4d@0, set)`. */
  override toString(): string {
    const { name, offset } = this.descriptor;
    return `Event(${name}@${offset}, ${this.closed ? "closed" : this.isSet() ? "set" : "clear"})`;
  }

  #attempt = (): Attempt<boolean> => {
    const w = this.#o.words;
    return this.#lock.run((): Attempt<boolean> => {
      if (Atomics.load(w, L.flag / 4) !== 0) return { done: true, value: true };
      Atomics.add(w, L.waiters / 4, 1);
      return { done: false, seq: Atomics.load(w, L.seq / 4) };
    });
  };

  #leave = (): void => {
    if (this.closed) return;
    const w = this.#o.words;
    this.#lock.run(() => Atomics.sub(w, L.waiters / 4, 1));
  };
}

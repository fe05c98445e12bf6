/**
 * `Channel`: a bounded queue of messages in shared memory, between any processes (Deno, Bun, Python).
 *
 * The ring (ring.ts) has one writer and one reader at a time. A side of one process (`senders: "one"`
 * or `receivers: "one"`) is that writer or reader with no lock at all: the fast path. A side of many
 * processes (the default) takes that side's lock (a robust process-shared Mutex, in the channel's
 * header) around each ring operation; a holder that dies mid-message leaves nothing visible (the tail is
 * stored last) and the next locker goes on.
 *
 * Waiting, without lost wake-ups: a waiter raises its side's "waiting" count (layout.ts), reads the word
 * it sleeps on (the tail for a receiver, the head for a sender), checks once more that it must wait,
 * and sleeps on that word with the futex while it still holds that value. The other side stores the
 * word first and reads the count after: either it sees the waiter and wakes it, or the waiter's futex
 * sees the new word and does not sleep. That store is a plain one (on x86-64, where the kernel has
 * membarrier), and the waiter's fence between its count and its look makes the handshake hold
 * (src/sync/fence.ts): the cost of ordering is paid before a sleep, not on every message. Only a
 * waiter changes its count (under its side's lock, when the side has many processes): a waker never
 * clears anything, so it can never clear the flag of a later wait. Each sleep lasts at most SLICE_MS,
 * after which the waiter checks that the other side still has a live process, so no peer's death
 * leaves it hung. Before sleeping, a waiter spins a little (the sync
 * objects' adaptive Spinner), since a sleep and its wake-up cost 55-70 us across CPUs on this VM while
 * the other side usually acts within a few; and a blocking wait right after this process woke a sleeper
 * spins on through that sleeper's wake-up (see #spinOn). Either spin only while the other side runs on
 * another CPU: each side publishes the CPU it runs on (layout.ts), see #spinsNow.
 *
 * The fast paths (`trySend` / `send` of a Uint8Array, `tryReceiveInto` / `receiveInto`, on a side of
 * one process) check once per handle what every call would (open, registered, no lock) and go straight
 * to the ring (ring.ts `writeBytes`, `readInto`): no closure, no allocation, one store of the tail or the
 * head each.
 */
import { printAsString } from "../../ffi/inspect.ts";
import type { SharedMemory } from "../shared_memory.ts";
import { checkByteCount, checkOptionsObject, describe } from "../arguments.ts";
import {
  checkHeader as checkObjectHeader,
  markReady,
  type ObjectPlacement,
  type Placement,
  PLACEMENT_OPTIONS,
  placeObject,
  SharedObject,
  type SharedObjectDescriptor,
  writeHeader,
} from "../shared_object.ts";
import { futex } from "../sync/futex.ts";
import { Mutex } from "../sync/mutex.ts";
import { Spinner } from "../sync/internal.ts";
import { fenceWakers, plainStores } from "../sync/fence.ts";
import {
  ALIGNMENT,
  channelBytes,
  ENDED,
  HEADER,
  LOCK_BYTES,
  MANY_RECEIVERS,
  MANY_SENDERS,
  MAX_CAPACITY,
  MAX_PEERS,
  maxMessageBytes,
  MIN_CAPACITY,
  POSITION_MASK,
  RECEIVE_LOCK_OFFSET,
  RECORD_KINDS,
  RING_OFFSET,
  SEND_LOCK_OFFSET,
  VERSION,
  WORD,
} from "./layout.ts";
import { DRAINED, EMPTY, ENDED_RESERVE, FULL, NOT_BYTES, Ring, SENT, TOO_LONG } from "./ring.ts";
import { ChannelError, MalformedChannelError } from "./errors.ts";
import { decode, encode, type Encoded, type Message, writePayload } from "./messages.ts";
import { ownPid, PeerTable, slotsFor } from "./peers.ts";
import { waitCalls } from "../../ffi/runtime.ts";

/** How long one sleep lasts at most before a waiter checks that its peers live. */
const SLICE_MS = 100;
/** How long one async wait for a side's lock lasts at most before it tries again. */
const LOCK_SLICE_MS = 20;
/** How long a blocking wait spins on after this process woke a sleeper (see #spinOn): at most 3x a wake-up here, at least a probe. */
const WAKE_SPIN_MS = 0.2;
const WAKE_SPIN_MIN_MS = 0.0125;
let wakeSpinMs = WAKE_SPIN_MS;

/** Whether this process woke a sleeper of a channel since its last blocking wait on one (see #spinOn). */
let wokeSleeper = false;
/** A side asks again which CPU it runs on every this many waits (and after a spin that failed, before its sleep). */
const CPU_CHECK_WAITS = 64;
/** Publishes in a row that find no sleeper before a side of one goes back to plain stores (see #orderNext). */
const ORDERED_PUBLISHES = 16;

/** Whether a side is one process or many. */
export type Parties = "one" | "many";

/** Options of `Channel.create`: the ring, its sides, and where it goes (`ObjectPlacement`, offset a multiple of 64). */
export interface ChannelOptions extends ObjectPlacement {
  /** Bytes of ring: rounded up to a power of two, from 64 to 2^29. The largest message is half of it minus 8. */
  capacity: number;
  /** `"one"`: a single thread of one process sends (no lock on that side; not several Workers). Default `"many"`. */
  senders?: Parties;
  /** `"one"`: a single thread of one process receives (no lock on that side). Default `"many"`. */
  receivers?: Parties;
}

/** What another process attaches by: plain JSON `{ kind: "channel", name, offset }`. */
export interface ChannelDescriptor extends SharedObjectDescriptor {
  /** Always `"channel"`. */
  readonly kind: "channel";
}

/** Options of every wait: a limit in milliseconds, and a signal that cancels it. */
export interface ChannelWaitOptions {
  /** Milliseconds to wait at most; then a `TimeoutError` (a DOMException). Default: no limit. */
  timeout?: number;
  /**
   * Cancels the wait, which rejects (or throws) with `signal.reason`. A blocking (not async) call can
   * only see it between its sleeps of at most 100 ms, and only a signal another thread aborts.
   */
  signal?: AbortSignal;
}

const CHANNEL_OPTIONS = ["capacity", "senders", "receivers"];
const WAIT_OPTIONS = new Set(["timeout", "signal"]);
const ATTACH_OPTIONS = new Set(["shm"]);

/** One side of the channel, as this handle sees it. */
class Side {
  registered = false;
  /** The short spin before a sleep (only while the other side runs on another CPU), adapted to how long the other side takes. */
  readonly spinner = new Spinner();
  /** Its CPU word (layout.ts), the CPU it last published there (plus one; 0: not known), and the waits until it asks again. */
  readonly cpuIndex: number;
  /** Its ordered word (layout.ts): 1 while its one process publishes with Atomics.store (see #orderNext). */
  readonly orderedIndex: number;
  /** Publishes that may find no sleeper before this process's ordered word is cleared again (#orderNext). */
  orderedLeft = 0;
  cpu = 0;
  untilCpuCheck = 0;
  /** What the wait being made spins for: the word, its value before, and whether to spin at all (see #spin). */
  spinIndex = 0;
  spinBefore = 0;
  spins = false;
  /** Whether the word moved: made once, not a closure per wait. */
  readonly moved = (): boolean => Atomics.load(this.words, this.spinIndex) !== this.spinBefore;
  readonly words: Int32Array;
  readonly name: "sender" | "receiver";
  readonly waitingIndex: number;
  readonly peers: PeerTable;
  readonly lock: Mutex | undefined;
  constructor(
    words: Int32Array,
    name: "sender" | "receiver",
    waitingIndex: number,
    peers: PeerTable,
    lock: Mutex | undefined,
  ) {
    this.words = words;
    this.name = name;
    this.waitingIndex = waitingIndex;
    this.peers = peers;
    this.lock = lock;
    this.cpuIndex = name === "sender" ? WORD.senderCpu : WORD.receiverCpu;
    this.orderedIndex = name === "sender" ? WORD.senderOrdered : WORD.receiverOrdered;
  }

  get many(): boolean {
    return this.lock !== undefined;
  }
}

/**
 * A bounded queue of messages in shared memory, between any processes: `Uint8Array`s, strings and JSON
 * values, each arriving as the kind it was sent as; every message delivered exactly once, each sender's
 * in order.
 *
 * @example
 * ```ts
 * import { Channel } from "@shm/shared-memory";
 *
 * using channel = Channel.create({ capacity: 1 << 16 });
 * channel.send("hello");
 * channel.send({ frame: 1, ok: true });
 * channel.send(new Uint8Array([1, 2, 3]));
 * channel.end();
 * // another process: Channel.attach(channel.descriptor) (or Python's shm_interop.channel.Channel)
 * for await (const message of channel) console.log(message); // "hello", { frame: 1, ok: true }, Uint8Array(3)
 * ```
 */
export class Channel extends SharedObject<ChannelDescriptor> implements AsyncIterable<Message> {
  readonly #ring: Ring;
  readonly #words: Int32Array;
  readonly #send: Side;
  readonly #receive: Side;
  readonly #encoded: Encoded = { kind: 0, length: 0, text: "" };
  /**
   * The fast paths, with every per-call check done once: this handle is open and registered on a side
   * of one process (no lock). A bytes message of at most `#maxBytes` then goes straight to the ring.
   */
  #sendFast = false;
  #receiveFast = false;
  #maxBytes = 0;
  /** The pending async sends and receives of this handle, each after the one before (order kept). */
  #sendQueue: Promise<unknown> = Promise.resolve();
  #receiveQueue: Promise<unknown> = Promise.resolve();

  private constructor(placement: Placement, create: Parties[] | undefined, capacity: number) {
    super(placement, "channel", {});
    const { shm, offset } = placement;
    const control = shm.view(offset, RING_OFFSET);
    const header = new DataView(control.buffer, control.byteOffset, RING_OFFSET);
    if (create) {
      control.fill(0);
      writeHeader(control, "channel", VERSION);
      header.setUint32(HEADER.capacity, capacity, true);
      const mode = (create[0] === "many" ? MANY_SENDERS : 0) | (create[1] === "many" ? MANY_RECEIVERS : 0);
      header.setUint32(HEADER.mode, mode, true);
      header.setUint32(HEADER.maxPeers, MAX_PEERS, true);
    } else {
      checkObjectHeader(control, "channel", VERSION, placement);
      capacity = checkHeader(header, placement);
    }
    const mode = header.getUint32(HEADER.mode, true);
    this.#words = new Int32Array(control.buffer, control.byteOffset, RING_OFFSET / 4);
    this.#ring = new Ring(this.#words, shm.view(offset + RING_OFFSET, capacity));
    const lock = (many: boolean, at: number) => {
      if (!many) return undefined;
      if (Mutex.byteLength > LOCK_BYTES) {
        throw new Error(`a Mutex of ${Mutex.byteLength} bytes does not fit ${LOCK_BYTES}`);
      }
      return create
        ? Mutex.create({ shm, offset: offset + at })
        : Mutex.attach({ kind: "mutex", name: shm.name, offset: offset + at }, { shm });
    };
    const manySenders = (mode & MANY_SENDERS) !== 0;
    const manyReceivers = (mode & MANY_RECEIVERS) !== 0;
    this.#send = new Side(
      this.#words,
      "sender",
      WORD.sendersWaiting,
      new PeerTable(this.#words, WORD.senderPids, slotsFor(manySenders)),
      lock(manySenders, SEND_LOCK_OFFSET),
    );
    this.#receive = new Side(
      this.#words,
      "receiver",
      WORD.receiversWaiting,
      new PeerTable(this.#words, WORD.receiverPids, slotsFor(manyReceivers)),
      lock(manyReceivers, RECEIVE_LOCK_OFFSET),
    );
    this.#maxBytes = maxMessageBytes(this.#ring.capacity);
    if (create) markReady(control);
  }

  /**
   * A new, empty channel with a ring of `capacity` bytes: in a segment of its own, or in `shm` at
   * `offset` (whose `1024 + capacity` bytes there it then owns).
   */
  static create(options: ChannelOptions): Channel {
    checkOptionsObject(
      options,
      new Set([...CHANNEL_OPTIONS, ...PLACEMENT_OPTIONS]),
      "options",
      "{ capacity: 65536 }",
    );
    const { capacity, senders, receivers, ...where } = options;
    const size = checkCapacity(capacity);
    const parties = [checkParties(senders, "senders"), checkParties(receivers, "receivers")];
    return placeObject(
      { size: channelBytes(size), alignment: ALIGNMENT, options: where },
      (placement) => new Channel(placement, parties, size),
    );
  }

  /** The channel another process described (its `descriptor`, or that as JSON). Checks the header first. */
  static attach(descriptor: ChannelDescriptor | string, options: { shm?: SharedMemory } = {}): Channel {
    checkOptionsObject(options, ATTACH_OPTIONS);
    return placeObject(
      { kind: "channel", size: RING_OFFSET, alignment: ALIGNMENT, descriptor, shm: options.shm },
      (placement) => new Channel(placement, undefined, 0),
    );
  }

  /** The segment the channel lives in. */
  get shm(): SharedMemory {
    return this.placement.shm;
  }

  /** Bytes of ring. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** The largest message, in bytes (its UTF-8 for a string, its JSON text for a JSON value). */
  get maxMessageBytes(): number {
    return maxMessageBytes(this.#ring.capacity);
  }

  /** Whether `end()` was called (messages sent before it may still be waiting to be received). */
  get ended(): boolean {
    this.#checkOpen();
    return this.#ring.ended;
  }

  /** Whether receiving is over: ended and drained, or every sender died and the ring is drained. */
  get done(): boolean {
    this.#checkOpen();
    return this.#ring.used === 0 && (this.#ring.ended || this.#send.peers.allDead());
  }

  /** Whether a single process sends, and whether a single process receives (the lock-free sides). */
  get parties(): { senders: Parties; receivers: Parties } {
    return { senders: this.#send.many ? "many" : "one", receivers: this.#receive.many ? "many" : "one" };
  }

  // ---- sending

  /** Sends `message` if there is room now: true, or false when the ring is full. */
  trySend(message: Message): boolean {
    if (this.#sendFast && message instanceof Uint8Array && message.length <= this.#maxBytes) {
      return this.#writeBytes(message);
    }
    const encoded = this.#prepareSend(message);
    if (!this.#send.lock) return this.#write(message, encoded); // the lock-free side: no closure either
    return this.#locked(this.#send, () => this.#write(message, encoded));
  }

  /**
   * Sends as many of `messages` (Uint8Arrays, each at most `maxMessageBytes`), from `start` on, as there
   * is room for now, and makes them visible to receivers together: one store and one wake-up check for
   * all of them, where `trySend` pays both for each (across processes that store waits for the ring's
   * cache lines to come back from the receiver's CPU, the largest part of a small message's cost).
   * Returns how many were sent (0 when the ring is full); each arrives as its own message, in order.
   *
   * @example Send a batch of reused buffers, waiting for room only when none is left
   * ```ts
   * import { Channel } from "@shm/shared-memory";
   *
   * using channel = Channel.create({ capacity: 1 << 16, senders: "one", receivers: "one" });
   * const batch = Array.from({ length: 16 }, (_, i) => new Uint8Array(64).fill(i));
   * for (let sent = 0; sent < batch.length;) {
   *   const n = channel.trySendMany(batch, sent);
   *   if (n > 0) sent += n;
   *   else channel.send(batch[sent++]); // full: wait for room for one
   * }
   * const target = new Uint8Array(64);
   * console.log(channel.tryReceiveInto(target), target[0]); // 64 0
   * ```
   */
  trySendMany(messages: readonly Uint8Array[], start = 0): number {
    if (!Array.isArray(messages)) {
      throw new TypeError(`messages must be an array of Uint8Arrays, got ${describe(messages)}`);
    }
    checkByteCount(start, "start");
    const end = messages.length;
    for (let i = start; i < end; i++) {
      const message = messages[i];
      if (!(message instanceof Uint8Array)) {
        throw new TypeError(`messages[${i}] must be a Uint8Array, got ${describe(message)}`);
      }
      if (message.length > this.#maxBytes) throw this.#tooLarge(message.length);
    }
    if (!this.#sendFast) {
      this.#checkOpen();
      if (!this.#send.registered) this.#register(this.#send);
    }
    const write = () => {
      const sent = this.#ring.writeBytesMany(messages, start, end);
      if (sent === ENDED_RESERVE) throw endedError();
      if (sent > 0) this.#wake(this.#receive, WORD.tail);
      return sent;
    };
    return this.#send.lock ? this.#locked(this.#send, write) : write();
  }

  /** Sends `message`, blocking this thread while the ring is full. */
  send(message: Message, options?: ChannelWaitOptions): void {
    if (
      this.#sendFast && options === undefined && message instanceof Uint8Array && message.length <= this.#maxBytes &&
      this.#writeBytes(message)
    ) return;
    const encoded = this.#prepareSend(message);
    const { deadline, signal } = waitOptions(options);
    while (!this.#locked(this.#send, () => this.#write(message, encoded))) {
      this.#waitSync(this.#send, WORD.head, deadline, signal);
    }
  }

  /** Sends `message`, waiting without blocking the event loop while the ring is full. */
  sendAsync(message: Message, options?: ChannelWaitOptions): Promise<void> {
    return this.#queue("send", async () => {
      const encoded = this.#prepareSend(message);
      const { deadline, signal } = waitOptions(options);
      while (!(await this.#lockedAsync(this.#send, () => this.#write(message, encoded), deadline, signal))) {
        await this.#waitAsync(this.#send, WORD.head, deadline, signal);
      }
    });
  }

  /**
   * Zero copy: room for a message of up to `length` bytes, as a view of the ring to fill; `commit()`
   * sends it. Undefined when the ring is full. Between the two, this handle holds its side (and, on a
   * side of many, the side's lock): fill and commit promptly.
   */
  tryReserve(length: number): Uint8Array | undefined {
    this.#prepareReserve(length);
    return this.#takeSide(this.#send, () => this.#reserve(length));
  }

  /** As `tryReserve`, blocking while full. */
  reserve(length: number, options?: ChannelWaitOptions): Uint8Array {
    this.#prepareReserve(length);
    const { deadline, signal } = waitOptions(options);
    for (;;) {
      const view = this.#takeSide(this.#send, () => this.#reserve(length));
      if (view) return view;
      this.#waitSync(this.#send, WORD.head, deadline, signal);
    }
  }

  /** As `tryReserve`, waiting without blocking the event loop while full. */
  reserveAsync(length: number, options?: ChannelWaitOptions): Promise<Uint8Array> {
    return this.#queue("send", async () => {
      this.#prepareReserve(length);
      const { deadline, signal } = waitOptions(options);
      for (;;) {
        const view = await this.#takeSideAsync(this.#send, () => this.#reserve(length), deadline, signal);
        if (view) return view;
        await this.#waitAsync(this.#send, WORD.head, deadline, signal);
      }
    });
  }

  /** Sends the reserved message, of `length` bytes (default: all that was reserved); it arrives as a Uint8Array. */
  commit(length?: number): void {
    this.#checkOpen();
    if (this.#ring.reservedPayload < 0) throw new TypeError("commit() without a reservation: call reserve() first");
    const reserved = this.#ring.reservedLength;
    if (length !== undefined) {
      checkByteCount(length, "length");
      if (length > reserved) throw new RangeError(`length ${length} is more than the ${reserved} bytes reserved`);
    }
    this.#ring.commit(RECORD_KINDS.bytes, length ?? reserved);
    this.#wake(this.#receive, WORD.tail);
    this.#send.lock?.unlock();
  }

  /** Gives a reservation up: nothing is sent. */
  cancelReserve(): void {
    if (this.#ring.reservedPayload < 0) return;
    this.#ring.cancel();
    this.#send.lock?.unlock();
  }

  /**
   * Says that no more messages will come: receivers get what is queued, then the end (`receive`
   * returns undefined, iteration stops). Sending afterwards is a ChannelError with code `ended`. On a
   * channel of one sender (`senders: "one"`), call it from the sending process: it sets a bit of the
   * tail, which that process stores without a lock (on a side of many, the send lock orders the two).
   */
  end(): void {
    this.#checkOpen();
    this.#locked(this.#send, () => {
      this.#ring.end();
      return true;
    });
    futex.notify(this.#words, WORD.tail);
    futex.notify(this.#words, WORD.head);
  }

  // ---- receiving

  /** The next message if there is one now; undefined when the ring is empty (see `done` for the end). */
  tryReceive(): Message | undefined {
    this.#prepareReceive();
    const message = this.#receive.lock ? this.#locked(this.#receive, () => this.#read()) : this.#read();
    return typeof message === "symbol" ? undefined : message;
  }

  /** The next message, blocking this thread while the ring is empty; undefined once the channel is done. */
  receive(options?: ChannelWaitOptions): Message | undefined {
    this.#prepareReceive();
    const { deadline, signal } = waitOptions(options);
    let gone = false;
    for (;;) {
      const message = this.#receive.lock ? this.#locked(this.#receive, () => this.#read()) : this.#read();
      if (message === DONE) return undefined;
      if (message !== NOTHING) return message;
      if (gone) return undefined;
      gone = !this.#waitSync(this.#receive, WORD.tail, deadline, signal);
    }
  }

  /** The next message, waiting without blocking the event loop; undefined once the channel is done. */
  receiveAsync(options?: ChannelWaitOptions): Promise<Message | undefined> {
    return this.#queue("receive", async () => {
      this.#prepareReceive();
      const { deadline, signal } = waitOptions(options);
      let gone = false;
      for (;;) {
        const message = await this.#lockedAsync(this.#receive, () => this.#read(), deadline, signal);
        if (message === DONE) return undefined;
        if (message !== NOTHING) return message;
        if (gone) return undefined;
        gone = !(await this.#waitAsync(this.#receive, WORD.tail, deadline, signal));
      }
    });
  }

  /**
   * Copies the next message, which must be bytes, into `target` (no allocation): its length, or -1 when
   * the ring is empty. A RangeError when it does not fit `target`, a TypeError when it is not bytes;
   * either way it stays queued.
   */
  tryReceiveInto(target: Uint8Array): number {
    if (this.#receiveFast && !this.#ring.holding && target instanceof Uint8Array) return this.#readInto(target);
    this.#prepareReceive();
    if (!(target instanceof Uint8Array)) throw new TypeError(`target must be a Uint8Array, got ${describe(target)}`);
    if (!this.#receive.lock) return this.#readInto(target);
    return this.#locked(this.#receive, () => this.#readInto(target));
  }

  /** As `tryReceiveInto`, blocking while empty; -1 once the channel is done. */
  receiveInto(target: Uint8Array, options?: ChannelWaitOptions): number {
    if (this.#receiveFast && options === undefined && !this.#ring.holding && target instanceof Uint8Array) {
      const length = this.#readInto(target);
      if (length !== EMPTY) return length < 0 ? -1 : length;
    }
    this.#prepareReceive();
    if (!(target instanceof Uint8Array)) throw new TypeError(`target must be a Uint8Array, got ${describe(target)}`);
    const { deadline, signal } = waitOptions(options);
    let gone = false;
    for (;;) {
      const length = this.#receive.lock
        ? this.#locked(this.#receive, () => this.#readInto(target))
        : this.#readInto(target);
      if (length >= 0 || length === -2) return length < 0 ? -1 : length;
      if (gone) return -1;
      gone = !this.#waitSync(this.#receive, WORD.tail, deadline, signal);
    }
  }

  /**
   * Zero copy: the next message (bytes) as a view of the ring, valid until `release()`; undefined when
   * empty. Until released this handle holds its side (on a side of many, its lock): release promptly.
   */
  tryReceiveView(): Uint8Array | undefined {
    this.#prepareReceive();
    const view = this.#takeSide(this.#receive, () => this.#view());
    return view === DONE ? undefined : view;
  }

  /** As `tryReceiveView`, blocking while empty; undefined once the channel is done. */
  receiveView(options?: ChannelWaitOptions): Uint8Array | undefined {
    this.#prepareReceive();
    const { deadline, signal } = waitOptions(options);
    let gone = false;
    for (;;) {
      const view = this.#takeSide(this.#receive, () => this.#view());
      if (view === DONE) return undefined;
      if (view) return view;
      if (gone) return undefined;
      gone = !this.#waitSync(this.#receive, WORD.tail, deadline, signal);
    }
  }

  /** As `tryReceiveView`, waiting without blocking the event loop; undefined once the channel is done. */
  receiveViewAsync(options?: ChannelWaitOptions): Promise<Uint8Array | undefined> {
    return this.#queue("receive", async () => {
      this.#prepareReceive();
      const { deadline, signal } = waitOptions(options);
      let gone = false;
      for (;;) {
        const view = await this.#takeSideAsync(this.#receive, () => this.#view(), deadline, signal);
        if (view === DONE) return undefined;
        if (view) return view;
        if (gone) return undefined;
        gone = !(await this.#waitAsync(this.#receive, WORD.tail, deadline, signal));
      }
    });
  }

  /** Hands back the message of the last view: the view reads garbage from now on. */
  release(): void {
    this.#checkOpen();
    if (!this.#ring.holding) throw new TypeError("release() without a message view: call receiveView() first");
    this.#ring.release();
    this.#wake(this.#send, WORD.head);
    this.#receive.lock?.unlock();
  }

  /** `for await (const message of channel)`: every message until the channel is done. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      const message = await this.receiveAsync();
      if (message === undefined) return;
      yield message;
    }
  }

  // ---- the handle

  /** Gives back what this handle holds (a reservation, a view) and its locks' handles, before the segment closes. */
  protected override onClose(): void {
    this.#sendFast = this.#receiveFast = false;
    this.cancelReserve();
    if (this.#ring.holding) this.release();
    this.#send.lock?.close();
    this.#receive.lock?.close();
  }

  /** `Channel('psm_1a2b3c4d', capacity=65536)`; also what `console.log` prints. */
  override toString(): string {
    const { shm, offset } = this.placement;
    const where = offset === 0 ? "" : `, offset=${offset}`;
    return `Channel('${shm.name}'${where}, capacity=${this.#ring.capacity}${this.closed ? ", closed" : ""})`;
  }

  // ---- inside

  #checkOpen(): void {
    this.checkOpen();
  }

  #prepareSend(message: Message): Encoded {
    this.#checkOpen();
    if (!this.#send.registered) this.#register(this.#send);
    const encoded = encode(message, this.#encoded);
    if (encoded.length > this.maxMessageBytes) throw this.#tooLarge(encoded.length);
    return encoded;
  }

  #prepareReserve(length: number): void {
    this.#checkOpen();
    checkByteCount(length, "length");
    if (length > this.maxMessageBytes) throw this.#tooLarge(length);
    if (this.#ring.reservedPayload >= 0) throw new TypeError("a reservation is already held: commit() it first");
    if (!this.#send.registered) this.#register(this.#send);
  }

  #prepareReceive(): void {
    this.#checkOpen();
    if (this.#ring.holding) throw new TypeError("a message view is still held: release() it first");
    if (!this.#receive.registered) this.#register(this.#receive);
  }

  #tooLarge(length: number): RangeError {
    return new RangeError(
      `a message of ${length} bytes does not fit this channel (at most ${this.maxMessageBytes}: half the ${this.capacity}-byte ring, minus an 8-byte header); create it with a larger capacity`,
    );
  }

  #register(side: Side): void {
    const pid = ownPid();
    const other = this.#locked(side, () => side.peers.register(pid));
    if (other !== 0) {
      throw new ChannelError(
        "taken",
        side.many
          ? `this channel's ${side.name} table is full (${MAX_PEERS} live processes)`
          : `this channel has one ${side.name} (created with ${side.name}s: "one"), and process ${other} is it`,
      );
    }
    side.registered = true;
    this.#ring.plainStores = plainStores(); // registered for the sleepers' fence: see #raiseHeld
    // a process that died in this side's place may have left its ordered word set (and another handle of
    // this process may have set it): this one starts plain, which is always sound (#orderNext)
    if (Atomics.load(this.#words, side.orderedIndex) !== 0) Atomics.store(this.#words, side.orderedIndex, 0);
    this.#publishCpu(side); // the other side's waits spin from now on, if it runs elsewhere
    if (side === this.#send) this.#sendFast = !side.lock;
    else this.#receiveFast = !side.lock;
  }

  /** Writes one message if there is room: false when full. Throws if the channel ended. */
  #write(message: Message, encoded: Encoded): boolean {
    if (encoded.kind === RECORD_KINDS.bytes) return this.#writeBytes(message as Uint8Array);
    const at = this.#ring.reserve(encoded.length);
    if (at === FULL) return false;
    if (at === ENDED_RESERVE) throw endedError();
    writePayload(message, encoded, this.#ring.bytes, at);
    this.#ring.commit(encoded.kind, encoded.length);
    this.#wake(this.#receive, WORD.tail);
    return true;
  }

  /** Writes one bytes message (checked to fit) if there is room: false when full. Throws if the channel ended. */
  #writeBytes(message: Uint8Array): boolean {
    const result = this.#ring.writeBytes(message);
    if (result === SENT) {
      this.#wake(this.#receive, WORD.tail);
      return true;
    }
    if (result === FULL) return false;
    throw endedError();
  }

  #reserve(length: number): Uint8Array | undefined {
    const at = this.#ring.reserve(length);
    if (at === FULL) return undefined;
    if (at === ENDED_RESERVE) throw endedError();
    return this.#ring.bytes.subarray(at, at + length);
  }

  /** The message at the head, released; NOTHING when empty, DONE when drained after the end. */
  #read(): Message | typeof NOTHING | typeof DONE {
    const at = this.#ring.peek();
    if (at === EMPTY) return NOTHING;
    if (at === DRAINED) return DONE;
    try {
      return decode(this.#ring.kind, this.#ring.bytes, at, this.#ring.length);
    } finally {
      // a message that does not decode is dropped all the same: it can never decode later
      this.#ring.release();
      this.#wake(this.#send, WORD.head);
    }
  }

  /**
   * Copies the bytes message at the head into `target`: its length; -1 when empty, -2 when drained. A
   * message that is not bytes, or does not fit, stays queued.
   */
  #readInto(target: Uint8Array): number {
    const length = this.#ring.readInto(target);
    if (length >= 0) {
      this.#wake(this.#send, WORD.head);
      return length;
    }
    if (length === NOT_BYTES) {
      throw new TypeError("the next message is not bytes: receive it with receive() or tryReceive()");
    }
    if (length === TOO_LONG) {
      throw new RangeError(`the next message is ${this.#ring.length} bytes; target holds ${target.length}`);
    }
    return length;
  }

  #view(): Uint8Array | undefined | typeof DONE {
    const at = this.#ring.peek();
    if (at === EMPTY) return undefined;
    if (at === DRAINED) return DONE;
    if (this.#ring.kind !== RECORD_KINDS.bytes) {
      throw new TypeError("the next message is not bytes: receive it with receive() or tryReceive()");
    }
    return this.#ring.bytes.subarray(at, at + this.#ring.length);
  }

  /** Wakes the sleepers of `side` (on `index`) if it says any are waiting. */
  #wake(side: Side, index: number): void {
    const woke = Atomics.load(this.#words, side.waitingIndex) !== 0;
    if (woke) {
      futex.notify(this.#words, index);
      wokeSleeper = true;
    }
    this.#orderNext(side === this.#receive ? this.#send : this.#receive, woke);
  }

  /**
   * Whether the next publishes of `publisher` (this process, on its side of one) go by Atomics.store:
   * after a publish that woke a sleeper, yes, so that the sleeper's next sleep needs no fence (a
   * membarrier: 0.3-2.3 us, twice a round trip where both sides sleep in turn); after ORDERED_PUBLISHES
   * in a row that found no sleeper, back to plain stores (a stream, where the receiver keeps up or
   * spins). Not after one: on one CPU a woken sleeper often runs before its waker sleeps, so every
   * other publish of a request/reply finds no sleeper. The word says it to the sleepers (layout.ts
   * "ordered"), and the ring reads it before each publish. Sound both ways (src/sync/fence.ts): it is
   * set only after the plain store it follows, and cleared by Atomics.store before the plain stores it
   * lets through, so a sleeper that saw it set (after raising its count) either sees every publish
   * since, or its raised count is seen by the waker. Never on a side of many, whose Python senders
   * store plainly whatever it says.
   */
  #orderNext(publisher: Side, woke: boolean): void {
    if (publisher.lock || !this.#ring.plainStores) return;
    const words = this.#words;
    const ordered = words[publisher.orderedIndex] !== 0;
    if (woke) {
      publisher.orderedLeft = ORDERED_PUBLISHES;
      if (!ordered) Atomics.store(words, publisher.orderedIndex, 1);
    } else if (ordered && --publisher.orderedLeft <= 0) Atomics.store(words, publisher.orderedIndex, 0);
  }

  /** Runs `body` holding `side` (its lock, for a side of many). */
  #locked<T>(side: Side, body: () => T): T {
    if (!side.lock) return body();
    lockSync(side.lock);
    try {
      return body();
    } finally {
      side.lock.unlock();
    }
  }

  async #lockedAsync<T>(side: Side, body: () => T, deadline: number, signal: AbortSignal | undefined): Promise<T> {
    if (!side.lock) return body();
    if (!side.lock.tryLock()) await this.#lockAsync(side, deadline, signal);
    try {
      return body();
    } finally {
      side.lock.unlock();
    }
  }

  /** Runs `body` holding `side`, and keeps holding it when `body` returns a view (until commit / release). */
  #takeSide<T>(side: Side, body: () => T): T {
    if (side.lock) lockSync(side.lock);
    return this.#keepIfView(side, body);
  }

  async #takeSideAsync<T>(side: Side, body: () => T, deadline: number, signal: AbortSignal | undefined): Promise<T> {
    if (side.lock && !side.lock.tryLock()) await this.#lockAsync(side, deadline, signal);
    return this.#keepIfView(side, body);
  }

  #keepIfView<T>(side: Side, body: () => T): T {
    let result: T;
    try {
      result = body();
    } catch (error) {
      side.lock?.unlock();
      throw error;
    }
    if (!(result instanceof Uint8Array)) side.lock?.unlock();
    return result;
  }

  /**
   * Takes the side's lock without blocking the event loop, a slice at a time: a wake-up the lock's
   * sleepers miss (see lockSync) then costs a slice, never the whole wait.
   */
  async #lockAsync(side: Side, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const left = remaining(deadline);
      if (left <= 0) throw timeoutError();
      if (await side.lock!.lockAsync({ timeout: Math.min(LOCK_SLICE_MS, left), signal })) return;
    }
  }

  /**
   * One sleep of at most SLICE_MS on `index` while the ring stays as it is, with `side`'s waiting count
   * raised. Returns false when the other side's processes have all died; throws on timeout or abort.
   * Whether the other side lives is asked (a system call and a /proc read per peer: tens of us) only
   * after a sleep that lasted its whole slice, since any other end of a wait means the ring moved.
   */
  #waitSync(side: Side, index: number, deadline: number, signal: AbortSignal | undefined): boolean {
    if (signal?.aborted) throw signal.reason;
    const left = remaining(deadline);
    if (left <= 0) throw timeoutError();
    const before = this.#before(index);
    if (this.#spin(side, index, before) || this.#spinOn(index, before)) return true;
    const observed = this.#raise(side, index, before);
    let result = "not-equal";
    if (observed !== CHANGED) result = futex.wait(this.#words, index, observed, Math.min(SLICE_MS, left));
    this.#lower(side);
    return result !== "timed-out" || this.#othersAlive(side);
  }

  async #waitAsync(side: Side, index: number, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw signal.reason;
    const left = remaining(deadline);
    if (left <= 0) throw timeoutError();
    const before = this.#before(index);
    if (this.#spin(side, index, before)) return true;
    if (side.lock && !side.lock.tryLock()) await this.#lockAsync(side, deadline, signal);
    const observed = this.#raiseHeld(side, index, before);
    side.lock?.unlock();
    let result = "not-equal";
    try {
      if (observed !== CHANGED) {
        result = await futex.waitAsync(this.#words, index, observed, { timeout: Math.min(SLICE_MS, left), signal });
      }
    } finally {
      if (side.lock && !side.lock.tryLock()) await this.#lockAsync(side, Infinity, undefined);
      Atomics.store(this.#words, side.waitingIndex, Atomics.load(this.#words, side.waitingIndex) - 1);
      side.lock?.unlock();
    }
    return result !== "timed-out" || this.#othersAlive(side);
  }

  /**
   * The word to sleep on as the failed try saw it. A sender: the head it found too close (read again
   * when the room ran short, so a receiver that made room since, and saw no sender waiting yet, is
   * seen). A receiver: the tail now (#raiseHeld then looks at the ring itself).
   */
  #before(index: number): number {
    return index === WORD.head ? this.#ring.headSeen : Atomics.load(this.#words, index);
  }

  /**
   * Spins a little while the word to sleep on keeps its value `before`, when the other side runs on
   * another CPU (#spinsNow): whether it changed (no sleep needed).
   */
  #spin(side: Side, index: number, before: number): boolean {
    side.spins = this.#spinsNow(side);
    if (!side.spins) return Atomics.load(this.#words, index) !== before;
    side.spinIndex = index;
    side.spinBefore = before;
    if (side.spinner.spinAnyway(side.moved)) return true;
    side.untilCpuCheck = 0; // a sleep comes: after it, this process may run elsewhere
    return false;
  }

  /**
   * Whether a wait of `side` spins: only while the other side's CPU word (layout.ts) names a CPU and
   * not the one this process runs on. On one CPU a spin burns the time slice the other side needs
   * (114-443 us a round trip, measured); across CPUs it saves a sleep and its wake-up. A waiter asks
   * where it runs (sched_getcpu, through the vDSO: 4-10 ns in Deno and Bun, 35-45 in Node) every
   * CPU_CHECK_WAITS waits and before each sleep, and publishes it on its own side's line, which it
   * writes anyway; it publishes it when it registers, too. The other side's word is as fresh as that
   * side's last wait: a process that never waits may have moved since, which costs at most a spin that
   * fails and shrinks (the Spinner adapts). On a side of many, the word is whoever published last.
   */
  #spinsNow(side: Side): boolean {
    if (--side.untilCpuCheck < 0) this.#publishCpu(side);
    const other = side === this.#send ? this.#receive : this.#send;
    const peer = Atomics.load(this.#words, other.cpuIndex);
    return peer !== 0 && peer !== side.cpu;
  }

  /** Asks which CPU this thread runs on and writes it (plus one) into `side`'s CPU word, if it changed. */
  #publishCpu(side: Side): void {
    side.untilCpuCheck = CPU_CHECK_WAITS;
    side.cpu = waitCalls().currentCpu() + 1;
    if (Atomics.load(this.#words, side.cpuIndex) !== side.cpu) Atomics.store(this.#words, side.cpuIndex, side.cpu);
  }

  /**
   * After this process woke a sleeper of a channel, its next blocking wait spins on (while the other side
   * runs on another CPU, as #spin) for WAKE_SPIN_MS while that sleeper comes back, rather than sleep: a sleeper takes 55-70
   * us to run again here, longer than the spin before a sleep, so the waker would sleep too and hand
   * the next wake-up to the other side. The two then sleep in turn (seen: a ring full, then empty, 1 us
   * a message; a request and its reply, over two channels, two sleeps a round trip), where spinning
   * through one wake-up lets both run on. The spin is adaptive, as the Spinner's: each one that ends
   * without the word moving halves the next (down to WAKE_SPIN_MIN_MS), each that sees it move doubles
   * it (up to WAKE_SPIN_MS); on a busy machine, where the sleeper may wait long for a CPU (or for this
   * one), it soon costs little.
   */
  #spinOn(index: number, before: number): boolean {
    if (!wokeSleeper) return false;
    wokeSleeper = false;
    // #spin ran just before, for this wait: the same rule (its side is the one that sleeps on `index`)
    if (!(index === WORD.tail ? this.#receive : this.#send).spins) return false;
    const words = this.#words;
    const end = performance.now() + wakeSpinMs;
    for (let i = 1;; i++) {
      if (Atomics.load(words, index) !== before) {
        wakeSpinMs = Math.min(WAKE_SPIN_MS, wakeSpinMs * 2);
        return true;
      }
      if ((i & 63) === 0 && performance.now() > end) {
        wakeSpinMs = Math.max(WAKE_SPIN_MIN_MS, wakeSpinMs / 2);
        return false;
      }
    }
  }

  /** Raises the waiting count and reads the word to sleep on: its value, or CHANGED if there is no need to. */
  #raise(side: Side, index: number, before: number): number {
    if (side.lock) lockSync(side.lock);
    try {
      return this.#raiseHeld(side, index, before);
    } finally {
      side.lock?.unlock();
    }
  }

  #raiseHeld(side: Side, index: number, before: number): number {
    const words = this.#words;
    Atomics.store(words, side.waitingIndex, Atomics.load(words, side.waitingIndex) + 1);
    // a waker stores the word plainly and then loads the count: the fence makes its store visible to
    // the loads below, or this count visible to its load (src/sync/fence.ts); not needed while the
    // waker's ordered word says it publishes by Atomics.store (#orderNext)
    const waker = side === this.#send ? this.#receive : this.#send;
    if (Atomics.load(words, waker.orderedIndex) === 0) fenceWakers();
    // with the count raised, look again: a message (or room) that came meanwhile means no sleep (each
    // word read once: the word slept on is one of the two)
    const tail = Atomics.load(words, WORD.tail);
    const head = Atomics.load(words, WORD.head);
    if ((tail & ENDED) !== 0) return CHANGED;
    if (index === WORD.tail) return (tail & POSITION_MASK) !== head ? CHANGED : tail;
    return head !== before ? CHANGED : head;
  }

  #lower(side: Side): void {
    if (side.lock) lockSync(side.lock);
    Atomics.store(this.#words, side.waitingIndex, Atomics.load(this.#words, side.waitingIndex) - 1);
    side.lock?.unlock();
  }

  /** Whether the other side may still act: false once processes registered there and all died. */
  #othersAlive(side: Side): boolean {
    const other = side === this.#send ? this.#receive : this.#send;
    if (!other.peers.allDead()) return true;
    if (side === this.#send) {
      const pids = other.peers.pids().join(", ");
      throw new ChannelError("no-receivers", `every process that received from this channel has died (${pids})`);
    }
    return false;
  }

  #queue<T>(which: "send" | "receive", body: () => Promise<T>): Promise<T> {
    const previous = which === "send" ? this.#sendQueue : this.#receiveQueue;
    const next = previous.then(body, body);
    const settled = next.catch(() => {});
    if (which === "send") this.#sendQueue = settled;
    else this.#receiveQueue = settled;
    return next;
  }
}

printAsString(Channel.prototype);

const NOTHING = Symbol("nothing yet");
const DONE = Symbol("done");
/** `#raise` found the ring changed: do not sleep. */
const CHANGED = 0x7fffffff + 1;

/**
 * Takes a side's lock, blocking, a slice at a time. A sleeper in pthread_mutex_lock can be stranded
 * when an async locker (which takes the lock with a trylock after its wake-up, so without glibc's
 * FUTEX_WAITERS mark) consumes the unlock's one wake-up: seen in a 4 x 4 run of mixed sync and async
 * senders. A timed lock wakes such a sleeper after the slice, and it tries again.
 */
function lockSync(lock: Mutex): void {
  while (!lock.lock({ timeout: LOCK_SLICE_MS }));
}

/** The options of a wait without any: no limit, no signal (one object, not one per call). */
const NO_LIMIT: { deadline: number; signal: AbortSignal | undefined } = Object.freeze({
  deadline: Infinity,
  signal: undefined,
});

function endedError(): ChannelError {
  return new ChannelError("ended", "the channel has ended: no more messages may be sent");
}

function waitOptions(options: ChannelWaitOptions | undefined): { deadline: number; signal: AbortSignal | undefined } {
  if (options === undefined) return NO_LIMIT;
  checkOptionsObject(options, WAIT_OPTIONS, "options", "{ timeout: 100 }");
  const { timeout, signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (signal?.aborted) throw signal.reason;
  if (timeout === undefined) return { deadline: Infinity, signal };
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`timeout must be a number of milliseconds, got ${describe(timeout)}`);
  }
  return { deadline: performance.now() + Math.max(0, timeout), signal };
}

function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : deadline - performance.now();
}

function timeoutError(): DOMException {
  return new DOMException("the channel wait timed out", "TimeoutError");
}

function checkCapacity(capacity: unknown): number {
  if (capacity === undefined) throw new TypeError("capacity is required: the ring's size in bytes, such as 65536");
  checkByteCount(capacity, "capacity", 1);
  if (capacity > MAX_CAPACITY) throw new RangeError(`capacity must be at most ${MAX_CAPACITY} bytes, got ${capacity}`);
  let size = MIN_CAPACITY;
  while (size < capacity) size *= 2;
  return size;
}

function checkParties(value: unknown, argument: string): Parties {
  if (value === undefined) return "many";
  if (value !== "one" && value !== "many") {
    throw new TypeError(`${argument} must be "one" or "many", got ${describe(value)}`);
  }
  return value;
}

/** Checks the ring's own header fields (the shared-object header is checked before): its capacity. */
function checkHeader(header: DataView, placement: Placement): number {
  const where = `the channel in segment '${placement.shm.name}' at offset ${placement.offset}`;
  const capacity = header.getUint32(HEADER.capacity, true);
  if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new MalformedChannelError(
      `${where} has a capacity of ${capacity}, not a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`,
    );
  }
  if (placement.offset + channelBytes(capacity) > placement.shm.size) {
    throw new MalformedChannelError(
      `${where} claims ${capacity} bytes of ring, past the end of the ${placement.shm.size}-byte segment`,
    );
  }
  const mode = header.getUint32(HEADER.mode, true);
  if ((mode & ~(MANY_SENDERS | MANY_RECEIVERS)) !== 0) {
    throw new MalformedChannelError(`${where} has unknown mode bits ${mode}`);
  }
  const peers = header.getUint32(HEADER.maxPeers, true);
  if (peers !== MAX_PEERS) throw new MalformedChannelError(`${where} has ${peers} peer slots, not ${MAX_PEERS}`);
  return capacity;
}

/**
 * The ring itself: where the next record goes and where the next one to read is, with no waiting, no
 * locks and no allocation. One writer and one reader at a time: in an spsc channel there is only one
 * of each; in an mpmc channel each side's lock makes its holder the only one (see channel.ts).
 *
 * Writing: `reserve(length)` finds room for one record (writing a WRAP record first if the record does
 * not fit before the ring's end) and returns where its payload goes; `commit(kind, length)` writes the
 * header and then publishes the record with ONE store of the tail. Nothing a writer does before that
 * store is visible, so a writer that dies half-way leaves the ring as it was.
 *
 * Reading: `peek()` checks the record at the head and returns where its payload is; `release()` hands
 * its room back with one store of the head. Every header is checked before use (layout.ts).
 */
import { ENDED, POSITION_MASK, RECORD_HEADER, RECORD_KINDS, recordBytes, WORD, WRAP } from "./layout.ts";
import { MalformedChannelError } from "./errors.ts";

/** What `peek()` returns when the ring is empty, and when it is empty and has ended. */
export const EMPTY = -1;
export const DRAINED = -2;
/** What `reserve()` and `writeBytes()` return when there is no room now, and `writeBytes()` when it wrote. */
export const FULL = -1;
export const SENT = 0;
/** What `reserve()` and `writeBytes()` return when the channel has ended. */
export const ENDED_RESERVE = -2;
/** What `readInto()` returns when the record at the head is not bytes, or longer than the target. */
export const NOT_BYTES = -3;
export const TOO_LONG = -4;
/** Payloads up to this many bytes are copied by hand rather than through `set` (see #copyIn). */
const COPY_BY_HAND = 512;

/** The largest record kind number, for the check of a header. */
const LAST_KIND = RECORD_KINDS.json;

export class Ring {
  /** The channel's live words (layout.ts WORD), over its first 1024 bytes. */
  readonly words: Int32Array;
  /** The ring's bytes, and the same bytes as 32-bit words for record headers. */
  readonly bytes: Uint8Array;
  /** The ring as 32-bit words: record headers, and short copies (a payload starts 8-aligned). */
  readonly ringWords: Int32Array;
  readonly capacity: number;
  readonly #mask: number;
  /**
   * Whether this process publishes the tail and the head with a plain store rather than Atomics.store:
   * set once this process registered for the sleepers' fence (src/sync/fence.ts).
   */
  plainStores = false;

  // the writer's side
  /** The head as last read: free room is at least what it says, so it is read again only when short. */
  #headSeen = 0;
  /** Where the reserved record starts (a position), and the longest payload it may have. */
  #reservedAt = -1;
  #reservedPayload = 0;
  #reservedLength = 0;

  /** The last short source copied in, and its 32-bit words once it came a second time (see #copyIn). */
  #source: Uint8Array | undefined;
  #sourceWords: Int32Array | undefined;

  // the reader's side
  /** The last target copied out to, and its 32-bit words (see #copyOut). */
  #target: Uint8Array | undefined;
  #targetWords: Int32Array | undefined;
  /** The tail as last read: at least this much is there to read. */
  #tailSeen = 0;
  /** The record peeked at: its kind, payload length, and the head after it. */
  kind = 0;
  length = 0;
  #next = -1;

  constructor(words: Int32Array, bytes: Uint8Array) {
    this.words = words;
    this.bytes = bytes;
    this.ringWords = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    this.capacity = bytes.length;
    this.#mask = bytes.length - 1;
  }

  /** Whether `end()` was called. */
  get ended(): boolean {
    return (Atomics.load(this.words, WORD.tail) & ENDED) !== 0;
  }

  /** Bytes in the ring now (records, headers and padding), as the two words say. */
  get used(): number {
    const tail = Atomics.load(this.words, WORD.tail) & POSITION_MASK;
    return (tail - Atomics.load(this.words, WORD.head)) & POSITION_MASK;
  }

  /**
   * Finds room for a record of up to `length` payload bytes: the payload's offset in `bytes`, FULL, or
   * ENDED_RESERVE if the channel has ended. The reservation holds until `commit` or `cancel`.
   */
  reserve(length: number): number {
    const start = this.#place(recordBytes(length));
    if (start < 0) return start;
    this.#reservedAt = start;
    this.#reservedPayload = (start & this.#mask) + RECORD_HEADER;
    this.#reservedLength = length;
    return this.#reservedPayload;
  }

  /**
   * Sends `source` as one bytes record (the caller checked that it fits: at most half the ring minus a
   * header): reserve, copy and commit in one call, with no reservation left behind. SENT, FULL or
   * ENDED_RESERVE.
   */
  writeBytes(source: Uint8Array): number {
    const length = source.length;
    const size = recordBytes(length);
    const start = this.#place(size);
    if (start < 0) return start;
    const at = start & this.#mask;
    this.#copyIn(source, at + RECORD_HEADER, length);
    const words = this.ringWords;
    words[at >>> 2] = length;
    words[(at >>> 2) + 1] = RECORD_KINDS.bytes;
    this.#publishTail((start + size) & POSITION_MASK);
    return SENT;
  }

  /**
   * Sends `sources[from]` to `sources[to - 1]` as bytes records (the caller checked that each fits), as
   * many as there is room for now, and makes them visible together with ONE store of the tail: how many
   * went (0 when full); ENDED_RESERVE when the channel has ended. A sender killed before that store
   * leaves none of them visible, as with one.
   */
  writeBytesMany(sources: readonly Uint8Array[], from: number, to: number): number {
    let tail = this.words[WORD.tail]; // the writer's own word: see #place
    if ((tail & ENDED) !== 0) return ENDED_RESERVE;
    const words = this.ringWords;
    let i = from;
    for (; i < to; i++) {
      const source = sources[i];
      const length = source.length;
      const size = recordBytes(length);
      const start = this.#placeAt(tail, size);
      if (start < 0) break;
      const at = start & this.#mask;
      this.#copyIn(source, at + RECORD_HEADER, length);
      words[at >>> 2] = length;
      words[(at >>> 2) + 1] = RECORD_KINDS.bytes;
      tail = (start + size) & POSITION_MASK;
    }
    if (i > from) this.#publishTail(tail);
    return i - from;
  }

  /**
   * Where a record of `size` bytes starts (a position), after writing a WRAP record when it does not fit
   * before the ring's end; FULL when there is no room now; ENDED_RESERVE when the channel has ended.
   * Nothing is visible to readers until the tail moves.
   */
  #place(size: number): number {
    // The writer's own word, so a plain load (Atomics.load is a call into the engine in V8 and JSC,
    // 11-18 ns, a sixth of a small message): only the writer stores it, this thread or, on a side of many, the last holder of the
    // side's lock, whose taking (a call into libc) no load is moved across.
    const tail = this.words[WORD.tail];
    if ((tail & ENDED) !== 0) return ENDED_RESERVE;
    return this.#placeAt(tail, size);
  }

  /** `#place` after the record(s) that end at `tail` (not ended): the start, or FULL. */
  #placeAt(tail: number, size: number): number {
    const at = tail & this.#mask;
    const toEnd = this.capacity - at;
    const needed = size <= toEnd ? size : toEnd + size;
    if (this.capacity - ((tail - this.#headSeen) & POSITION_MASK) < needed && !this.#roomAfterAll(tail, needed)) {
      return FULL;
    }
    if (size <= toEnd) return tail;
    // the record does not fit before the end: a WRAP record takes the rest, the record goes to 0
    this.ringWords[at >>> 2] = 0;
    this.ringWords[(at >>> 2) + 1] = WRAP;
    return (tail + toEnd) & POSITION_MASK;
  }

  /** Reads the head again (the cached one said the ring is too full): whether `needed` bytes are free now. */
  #roomAfterAll(tail: number, needed: number): boolean {
    const head = Atomics.load(this.words, WORD.head);
    const used = (tail - head) & POSITION_MASK;
    if (used > this.capacity || (head & 7) !== 0) {
      throw new MalformedChannelError(
        `channel is corrupted: head ${head} and tail ${tail} are not a ring of ${this.capacity} bytes`,
      );
    }
    this.#headSeen = head;
    return this.capacity - used >= needed;
  }

  /** The head as this writer last read it: after FULL, the head that left too little room. */
  get headSeen(): number {
    return this.#headSeen;
  }

  /** The longest payload of the reservation made last. */
  get reservedLength(): number {
    return this.#reservedLength;
  }

  /** Where the payload of the reservation goes, or -1 when none is held. */
  get reservedPayload(): number {
    return this.#reservedAt < 0 ? -1 : this.#reservedPayload;
  }

  /** Publishes the reserved record with `length` (at most what was reserved) payload bytes. */
  commit(kind: number, length: number): void {
    const start = this.#reservedAt;
    const at = (start & this.#mask) >>> 2;
    this.ringWords[at] = length;
    this.ringWords[at + 1] = kind;
    this.#reservedAt = -1;
    this.#publishTail((start + recordBytes(length)) & POSITION_MASK);
  }

  /**
   * The one store that makes the records written (and a WRAP before them) visible. A plain one keeps
   * its place after the record's stores on a machine that keeps stores in order, which is the only
   * kind where `plainStores` is set. It must also stay before the load of the waiting count that
   * follows (channel.ts #wake): that is an Atomics.load, which V8 and JSC compile as a call into the
   * engine (11-18 ns, bench/atomics.ts) that no store is moved across. The language does not promise
   * this (a SeqCst load orders only what follows it): it rests on the engines, and an engine that
   * inlined Atomics.load as a plain load would need this store to be Atomics.store again.
   */
  #publishTail(tail: number): void {
    // the sender's own ordered word (layout.ts): while it says so, a sleeper skips its fence
    if (this.plainStores && this.words[WORD.senderOrdered] === 0) this.words[WORD.tail] = tail;
    else Atomics.store(this.words, WORD.tail, tail);
  }

  /** The one store that hands read room back to the writers, after the record's loads (as `#publishTail`). */
  #publishHead(head: number): void {
    if (this.plainStores && this.words[WORD.receiverOrdered] === 0) this.words[WORD.head] = head;
    else Atomics.store(this.words, WORD.head, head);
  }

  /** Drops the reservation: nothing was written that anyone can see. */
  cancel(): void {
    this.#reservedAt = -1;
  }

  /** Sets the ended bit; only the writer's side calls it (it owns the tail word). */
  end(): void {
    Atomics.store(this.words, WORD.tail, Atomics.load(this.words, WORD.tail) | ENDED);
  }

  /**
   * The payload offset of the record at the head, with `kind` and `length` set; EMPTY when there is
   * none; DRAINED when there is none and the channel has ended.
   */
  peek(): number {
    let head = this.words[WORD.head]; // the reader's own word: a plain load, as the writer's tail in #place
    let available = (this.#tailSeen - head) & POSITION_MASK;
    if (available === 0 || available > this.capacity) {
      const tailWord = Atomics.load(this.words, WORD.tail);
      this.#tailSeen = tailWord & POSITION_MASK;
      available = (this.#tailSeen - head) & POSITION_MASK;
      if (available === 0) return (tailWord & ENDED) !== 0 ? DRAINED : EMPTY;
      if (available > this.capacity || (head & 7) !== 0) {
        throw new MalformedChannelError(
          `channel is corrupted: head ${head} and tail ${this.#tailSeen} are not a ring of ${this.capacity} bytes`,
        );
      }
    }
    let at = head & this.#mask;
    let kind = this.ringWords[(at >>> 2) + 1];
    if (kind === WRAP) {
      const skip = this.capacity - at;
      if (skip >= available) throw this.#corrupt(at, "a WRAP record with nothing after it");
      head = (head + skip) & POSITION_MASK;
      available -= skip;
      at = 0;
      kind = this.ringWords[1];
    }
    const length = this.ringWords[at >>> 2];
    if (kind < 1 || kind > LAST_KIND) throw this.#corrupt(at, `unknown record kind ${kind >>> 0}`);
    if (length < 0 || length > this.capacity - RECORD_HEADER) throw this.#corrupt(at, `length ${length >>> 0}`);
    const size = recordBytes(length);
    if (size > available || at + size > this.capacity) {
      throw this.#corrupt(at, `a ${length}-byte record runs past what was written`);
    }
    this.kind = kind;
    this.length = length;
    this.#next = (head + size) & POSITION_MASK;
    return at + RECORD_HEADER;
  }

  /** Hands the room of the record peeked at back to the writers. */
  release(): void {
    this.#publishHead(this.#next);
    this.#next = -1;
  }

  /**
   * Copies the record at the head, if it is bytes and fits `target`, into `target` and releases it: its
   * length. EMPTY or DRAINED when there is none; NOT_BYTES or TOO_LONG (`length` says how long) when it
   * stays queued.
   */
  readInto(target: Uint8Array): number {
    const at = this.peek();
    if (at < 0) return at;
    const length = this.length;
    if (this.kind !== RECORD_KINDS.bytes || length > target.length) {
      this.#next = -1; // not taken: the next peek finds it again
      return this.kind !== RECORD_KINDS.bytes ? NOT_BYTES : TOO_LONG;
    }
    this.#copyOut(at, length, target);
    this.#publishHead(this.#next);
    this.#next = -1;
    return length;
  }

  /**
   * Copies a payload in. A short one from a source sent before goes by 32-bit words, through a word
   * view of the source made on its second use and kept while the caller reuses it (a new typed array
   * costs 250-330 ns in Deno, and a byte loop is 4 times the work); any other goes by `set`, which makes
   * no new typed array.
   */
  #copyIn(source: Uint8Array, at: number, length: number): void {
    if (length > COPY_BY_HAND) {
      this.bytes.set(source, at);
      return;
    }
    let words = this.#sourceWords;
    if (source !== this.#source || words === undefined || words.length !== length >>> 2) {
      if (source === this.#source && source.byteOffset % 4 === 0) {
        words = this.#sourceWords = new Int32Array(source.buffer, source.byteOffset, length >>> 2);
      } else {
        this.#source = source;
        this.#sourceWords = undefined;
        this.bytes.set(source, at);
        return;
      }
    }
    const ring = this.ringWords;
    const to = at >>> 2;
    const n = length >>> 2;
    for (let i = 0; i < n; i++) ring[to + i] = words[i];
    const bytes = this.bytes;
    for (let i = n << 2; i < length; i++) bytes[at + i] = source[i];
  }

  /** The same going out, into a kept word view of a reused target; a long payload by `set` of a subarray. */
  #copyOut(at: number, length: number, target: Uint8Array): void {
    const bytes = this.bytes;
    if (length > COPY_BY_HAND) {
      target.set(bytes.subarray(at, at + length));
      return;
    }
    if (target !== this.#target) {
      this.#target = target;
      this.#targetWords = target.byteOffset % 4 === 0
        ? new Int32Array(target.buffer, target.byteOffset, target.length >>> 2)
        : undefined;
    }
    let i = 0;
    const words = this.#targetWords;
    if (words !== undefined && words.length === target.length >>> 2) {
      const ring = this.ringWords;
      const from = at >>> 2;
      for (const n = length >>> 2; i < n; i++) words[i] = ring[from + i];
      i <<= 2;
    }
    for (; i < length; i++) target[i] = bytes[at + i];
  }

  /** Whether a record has been peeked at and not released. */
  get holding(): boolean {
    return this.#next >= 0;
  }

  #corrupt(at: number, what: string): MalformedChannelError {
    return new MalformedChannelError(`channel is corrupted: the record at ring offset ${at} has ${what}`);
  }
}

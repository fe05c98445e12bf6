/**
 * The bytes of a channel, described once. Every offset is from the channel's start, which is a
 * multiple of 64 in its segment (a cache line), so each line below is one cache line:
 *
 * ```
 *  0    +-------+---------+------+-------+----------+------+----------+---------+
 *       | magic | version | kind | state | reserved | cap. | mode     | maxPeers|  header (the shared-object header of
 *       | SHMO  | u16     | u16  | u32   | u32      | u32  | u32      | u32     |  src/shared_object.ts, then the ring's
 *       0       4         6      8       12         16     20         24        |  own fields), written once by create,
 *       mode: bit 0 many senders, bit 1 many receivers; state is 1 once made  |  checked by every attach
 * 64    +----------------------------+-------------------------+------------+-----------------+
 *       | tail (u32: bit 31 = ended) | receivers waiting (u32) | sender CPU | sender ordered  |  written by senders
 * 128   +----------------------------+-------------------------+------------+-----------------+
 *       | head (u32)                 | senders waiting (u32)   | recv. CPU  | receiver ordered|  written by receivers
 * 192   +----------------------------+-------------------------+------------+-----------------+
 *       | sender pids: 32 x i32 (0 = free)                                   |
 * 320   +--------------------------------------------------------------------+
 *       | receiver pids: 32 x i32                                            |
 * 448   +--------------------------------------------------------------------+
 *       | send lock: a Mutex (src/sync), when many send; 256 bytes reserved  |
 * 704   +--------------------------------------------------------------------+
 *       | receive lock: a Mutex, when many receive; 256 bytes reserved       |
 * 960   +--------------------------------------------------------------------+
 *       | (unused)                                                           |
 * 1024  +--------------------------------------------------------------------+
 *       | ring: capacity bytes (a power of two), records back to back        |
 * 1024 + capacity
 * ```
 *
 * `sender CPU` and `receiver CPU` (u32 at 72 and 136): the CPU a process of that side last said it runs
 * on, plus one (0: not known yet), each on its side's own line. A waiter spins before it sleeps only
 * while the other side's CPU is known and is not its own (see channel.ts #spinsNow): on one CPU a
 * spin burns the time slice the other side needs. Version 2 added them; version 1 had zeros there.
 *
 * `sender ordered` and `receiver ordered` (u32 at 76 and 140, version 4): 1 while the one process of
 * that side (a side of `"one"`; never set on a side of many) publishes the tail (or the head) with
 * `Atomics.store`, not a plain store, so that the other side's sleepers may skip their fence
 * (src/sync/fence.ts): set after a publish that woke a sleeper, cleared once 16 publishes in a row found
 * none (channel.ts #orderNext), and cleared by a process that takes the side (TypeScript: each register;
 * Python: each register too, as it publishes plainly). 0 otherwise, and in a new channel.
 *
 * `tail` and `head` count bytes written and read, modulo 2^31 (bit 31 of the tail word says the channel
 * has ended, so that a receiver asleep on the tail wakes for either). A position's place in the ring is
 * `position & (capacity - 1)`. Each record is an 8-byte header and its payload, padded to 8 bytes:
 *
 * ```
 * +-------------------+------------------+--------------------------------+---------+
 * | length (u32)      | kind (u32)       | payload: length bytes          | padding |
 * +-------------------+------------------+--------------------------------+---------+
 * kind: 1 bytes, 2 string (UTF-8), 3 JSON (UTF-8 JSON text), 0x57524150 "WRAP": the rest of the
 * ring is skipped and the next record starts at ring offset 0
 * ```
 *
 * A record never wraps (so the largest message is half the ring: see maxMessageBytes): its payload is
 * one contiguous window of the ring, so a message can be written
 * and read in place. A record becomes visible by one store, the tail's, after it is complete; a sender
 * killed while writing one leaves nothing a receiver can see. Every header read is checked against the
 * ring (length, kind, room) before any payload is touched: a corrupted ring is a MalformedChannelError,
 * never a read outside it.
 */

/**
 * The layout version in the shared-object header. 2: the two CPU words. 3: the same bytes, and a new
 * rule: a waker may publish the tail or the head with a plain store, so every sleeper fences first
 * (src/sync/fence.ts); a version-2 reader would not, and could sleep through a message, so versions
 * are not mixed. 4: the two ordered words, which let a sleeper skip the fence; a version-3 sender
 * would publish plainly whatever they say, so again versions are not mixed.
 */
export const VERSION = 4;

/** Byte offsets of the ring's own header fields, after the 16-byte shared-object header. */
export const HEADER = { capacity: 16, mode: 20, maxPeers: 24 } as const;

/** Int32 indices of the live words (byte offset / 4). */
export const WORD = {
  tail: 64 / 4,
  receiversWaiting: 68 / 4,
  senderCpu: 72 / 4,
  senderOrdered: 76 / 4,
  head: 128 / 4,
  sendersWaiting: 132 / 4,
  receiverCpu: 136 / 4,
  receiverOrdered: 140 / 4,
  senderPids: 192 / 4,
  receiverPids: 320 / 4,
} as const;

/** How many processes of each side the tables hold. */
export const MAX_PEERS = 32;
/** Where the two locks of an mpmc channel go, and the room each has. */
export const SEND_LOCK_OFFSET = 448;
export const RECEIVE_LOCK_OFFSET = 704;
export const LOCK_BYTES = 256;
/** Where the ring starts. */
export const RING_OFFSET = 1024;
/** A channel's start in its segment is a multiple of this. */
export const ALIGNMENT = 64;

/** The header's `mode` bits: which sides are shared by many processes (and so take a lock). */
export const MANY_SENDERS = 1;
export const MANY_RECEIVERS = 2;

/** Bit 31 of the tail word: no more messages will come. */
export const ENDED = 0x80000000 | 0;
/** Positions count modulo 2^31. */
export const POSITION_MASK = 0x7fffffff;

/** The record header's size, and the payload padding. */
export const RECORD_HEADER = 8;
export const RECORD_ALIGN = 8;

/** Record kinds, as stored. */
export const RECORD_KINDS = { bytes: 1, string: 2, json: 3 } as const;
export type MessageKind = keyof typeof RECORD_KINDS;
/** A record that says "the next record starts at ring offset 0". */
export const WRAP = 0x57524150;

/** Ring sizes: at least this, at most this (2^29: a reader's stale tail can never look like a full ring, see ring.ts). */
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 29;

/** The whole channel's size for a ring of `capacity` bytes. */
export function channelBytes(capacity: number): number {
  return RING_OFFSET + capacity;
}

/** The room a record with `length` payload bytes takes in the ring. */
export function recordBytes(length: number): number {
  return RECORD_HEADER + ((length + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1));
}

/**
 * The largest payload a ring of `capacity` bytes takes: a record of half the ring. A record never
 * wraps, so one that does not fit before the ring's end goes to offset 0; in an empty ring, wherever
 * the tail is, one of the two parts is at least half the ring, so such a record always fits once the
 * receivers have caught up. A larger one might never fit.
 */
export function maxMessageBytes(capacity: number): number {
  return capacity / 2 - RECORD_HEADER;
}

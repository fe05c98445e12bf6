/**
 * The bytes of every sync object, as data. Each starts with the shared-object header (16 bytes: magic
 * "SHMO", version, kind, ready; `src/shared_object.ts`) and is 8-byte aligned. Python reads the same
 * offsets (`python/shm_interop/sync.py`, `LAYOUTS`); the tests compare the two tables.
 *
 * `lock` is a process-shared, robust, error-checking `pthread_mutex_t` (40 bytes on x86-64 glibc, 48 on
 * arm64, 64 on macOS: 64 are reserved). Every change of an object's state is made holding it, from
 * TypeScript and Python alike: Python has no atomic instructions, and the lock is what lets it take part.
 * `seq` is the word waiters sleep on (futex): whoever changes the state bumps it and wakes them; a waiter
 * reads it under the lock before it sleeps, so a change between its unlock and its sleep is never lost.
 *
 * ```
 * Mutex (80 bytes)
 * 0        16                       80
 * | header | lock: pthread_mutex_t  |       the lock IS the mutex; its first word is the kernel's
 *                                           robust lock word (owner TID | WAITERS | OWNER_DIED)
 * Semaphore (96 bytes)
 * 0        16      80      84    88        92     96
 * | header | lock  | value | seq | waiters | max  |    max 0: unbounded (a BoundedSemaphore otherwise)
 *
 * Event (96 bytes)
 * 0        16      80     84    88        92         96
 * | header | lock  | flag | seq | waiters | reserved |
 *
 * Condition (32 bytes; its Mutex is a separate object, by default right after it in the same segment)
 * 0        16    20        24        28         32
 * | header | seq | waiters | signals | reserved |     changed only while holding the Mutex
 *
 * Barrier (224 bytes)
 * 0        16      80        84      88    92       96                       224
 * | header | lock  | parties | count | seq | broken | 16 x { pid, handles } |  the processes holding a
 *                                                                              handle: one that dies
 *                                                                              breaks the barrier
 * ```
 * All fields are little-endian int32.
 */

/** The layout version every sync kind is at. A change of any offset below is a new version. */
export const SYNC_VERSION = 1;

/** Every sync object's offset is a multiple of this (pthread_mutex_t needs 8). */
export const SYNC_ALIGNMENT = 8;

/** Where the internal lock sits, and the bytes reserved for it on every platform. */
export const LOCK = { offset: 16, bytes: 64 } as const;

/** The field offsets (bytes from the object's start) and each kind's size. */
export const LAYOUTS = {
  mutex: { size: 80, lock: 16 },
  semaphore: { size: 96, lock: 16, value: 80, seq: 84, waiters: 88, max: 92 },
  event: { size: 96, lock: 16, flag: 80, seq: 84, waiters: 88 },
  condition: { size: 32, seq: 16, waiters: 20, signals: 24 },
  barrier: { size: 224, lock: 16, parties: 80, count: 84, seq: 88, broken: 92, slots: 96, slotCount: 16 },
} as const;

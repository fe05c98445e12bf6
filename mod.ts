/**
 * Python's `multiprocessing.shared_memory` for Deno and Bun: named POSIX shared memory segments,
 * numpy-style typed arrays that live in them, and `ShareableList`, byte-compatible with CPython.
 *
 * ```ts
 * import { SharedMemory } from "@shm/shared-memory";
 *
 * using shm = new SharedMemory({ create: true, size: 40 });
 * new BigInt64Array(shm.buf.buffer).set([1n, 2n, 3n, 4n, 5n]);
 * // another process: new SharedMemory({ name: shm.name }) sees the same five numbers
 * ```
 *
 * Deno needs `--allow-ffi`; Bun needs nothing.
 *
 * @module
 */

export {
  SharedMemory,
  type SharedMemoryCreateOptions,
  type SharedMemoryDescriptor,
  type SharedMemoryOptions,
} from "./src/shared_memory.ts";
export { SharedMemoryError, type Syscall } from "./src/errors.ts";
export { UnsupportedPlatformError } from "./ffi/runtime.ts";

// Arrays in shared memory, numpy-style.
export {
  type ArrayData,
  type ArrayDescriptor,
  type ArraySpec,
  type AttachOptions,
  type DTypeOfData,
  type FromOptions,
  type Layout,
  type PlacementOptions,
  type Shape,
  SharedArray,
} from "./src/shared_array.ts";
export {
  type AnyTypedArray,
  type DType,
  type DTypeInfo,
  type DTypeKind,
  DTYPES,
  type DTypeTypes,
  type InputOf,
  type TypedArrayClass,
  type TypedArrayOf,
  type ValueOf,
} from "./src/dtypes.ts";
export { MalformedArrayError } from "./src/npy.ts";

// CPython's ShareableList.
export {
  type ListDescriptor,
  type ListValue,
  MalformedListError,
  ShareableList,
  type ShareableListOptions,
} from "./src/shareable_list.ts";

// One owner for many segments.
export {
  type Managed,
  type ManagedArrayOptions,
  type ManagedPlacement,
  type ManagedSegmentOptions,
  SharedMemoryManager,
} from "./src/manager.ts";

// Processes that wait for each other.
export { type Futex, futex, type WaitOptions, type WaitResult } from "./src/sync/futex.ts";
export { Mutex, type MutexDescriptor, type MutexGuard } from "./src/sync/mutex.ts";
export { Semaphore, type SemaphoreDescriptor, type SemaphoreOptions } from "./src/sync/semaphore.ts";
export { Event, type EventDescriptor } from "./src/sync/event.ts";
export { Condition, type ConditionDescriptor, type ConditionOptions } from "./src/sync/condition.ts";
export { Barrier, type BarrierDescriptor, type BarrierOptions } from "./src/sync/barrier.ts";
export { BrokenBarrierError, LockStateError } from "./src/sync/internal.ts";

// The one shape of every shared object.
export {
  MalformedObjectError,
  type ObjectPlacement,
  type Ownership,
  type Placement,
  type SharedHandle,
  SharedObject,
  type SharedObjectDescriptor,
} from "./src/shared_object.ts";
export { type AnyDescriptor, attach, type SharedKind, type SharedKinds } from "./src/attach.ts";

// Channels between processes.
export {
  Channel,
  type ChannelDescriptor,
  type ChannelOptions,
  type ChannelWaitOptions,
  type Parties,
} from "./src/channel/channel.ts";
export { ChannelError, type ChannelErrorCode, MalformedChannelError } from "./src/channel/errors.ts";
export type { JsonValue, Message } from "./src/channel/messages.ts";

/**
 * `attach(descriptor)`: the object any descriptor describes, of the right kind, found in one table
 * from the descriptor's `kind` to that kind's own `attach`. CPython's resource tracker keeps such a
 * table (a resource type to its cleanup function): a new kind of shared object is a new row.
 */
import { SharedMemory } from "./shared_memory.ts";
import { ShareableList } from "./shareable_list.ts";
import { SharedArray } from "./shared_array.ts";
import { Mutex } from "./sync/mutex.ts";
import { Semaphore } from "./sync/semaphore.ts";
import { Event } from "./sync/event.ts";
import { Condition } from "./sync/condition.ts";
import { Barrier } from "./sync/barrier.ts";
import { Channel } from "./channel/channel.ts";
import { describe } from "./describe.ts";
import { isDescriptorJson } from "./descriptor.ts";

/**
 * Every kind of shared object, by its descriptor's `kind`: the object `attach` returns for it. A new
 * kind is one line here and its row in the table below; the table's type makes a kind without a row,
 * or a row without a kind, a type error.
 */
export interface SharedKinds {
  /** A segment: `{ kind: "shm", name }`. */
  shm: SharedMemory;
  /** A ShareableList: `{ kind: "list", name, offset: 0 }`. */
  list: ShareableList;
  /** A SharedArray: `{ kind: "array", name, offset, dtype, shape }`. */
  array: SharedArray;
  /** A Mutex: `{ kind: "mutex", name, offset }`. */
  mutex: Mutex;
  /** A Semaphore: `{ kind: "semaphore", name, offset }`. */
  semaphore: Semaphore;
  /** An Event: `{ kind: "event", name, offset }`. */
  event: Event;
  /** A Condition: `{ kind: "condition", name, offset, mutex }`. */
  condition: Condition;
  /** A Barrier: `{ kind: "barrier", name, offset }`. */
  barrier: Barrier;
  /** A Channel: `{ kind: "channel", name, offset }`. */
  channel: Channel;
}

/** The name of a kind of shared object: `"shm"`, `"list"`, `"array"`, ... */
export type SharedKind = keyof SharedKinds;

/** The descriptor of any kind of shared object. */
export type AnyDescriptor = SharedKinds[SharedKind]["descriptor"];

/** Each kind's own `attach`, by kind: one row each (a missing, extra or repeated row is a type error). */
const ATTACH: { readonly [K in SharedKind]: (descriptor: object) => SharedKinds[K] } = {
  shm: (descriptor) => SharedMemory.attach(descriptor as never),
  list: (descriptor) => ShareableList.attach(descriptor as never),
  array: (descriptor) => SharedArray.attach(descriptor as never),
  mutex: (descriptor) => Mutex.attach(descriptor as never),
  semaphore: (descriptor) => Semaphore.attach(descriptor as never),
  event: (descriptor) => Event.attach(descriptor as never),
  condition: (descriptor) => Condition.attach(descriptor as never),
  barrier: (descriptor) => Barrier.attach(descriptor as never),
  channel: (descriptor) => Channel.attach(descriptor as never),
};

/**
 * The shared object a descriptor describes, of the kind its `kind` names: `SharedMemory`,
 * `ShareableList`, `SharedArray`, `Mutex`, `Semaphore`, `Event`, `Condition`, `Barrier`, `Channel`. The descriptor is another object's `descriptor` (from any process:
 * through postMessage, a Python dict) or its JSON string. A bare name has no kind: pass it to the kind's
 * own `attach`. A descriptor of no known kind is a TypeError.
 *
 * @example
 * ```ts
 * import { attach, ShareableList, SharedArray } from "@shm/shared-memory";
 *
 * using list = ShareableList.create([1, "two"]);
 * using array = SharedArray.from([1.5, 2.5]);
 * const handed = JSON.stringify([list, array]); // argv, a pipe, postMessage
 * for (const descriptor of JSON.parse(handed)) {
 *   using object = attach(descriptor); // a ShareableList, then a SharedArray
 *   console.log(object.descriptor.kind, String(object));
 * }
 * ```
 */
export function attach<K extends SharedKind>(descriptor: { readonly kind: K; readonly name: string }): SharedKinds[K];
/** A descriptor whose kind is known only when running (its JSON string, say). */
export function attach(descriptor: AnyDescriptor | string): SharedKinds[SharedKind];
export function attach(descriptor: AnyDescriptor | string): SharedKinds[SharedKind] {
  let value: unknown = descriptor;
  if (typeof value === "string") {
    if (!isDescriptorJson(value)) {
      throw new TypeError(
        `attach takes a descriptor { kind, name, ... } or its JSON, got the bare name ${describe(value)}: ` +
          "a name has no kind (attach it with SharedMemory.attach, SharedArray.attach, ...)",
      );
    }
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw new TypeError(`the descriptor is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const got = Array.isArray(value) ? "an array" : describe(value);
    throw new TypeError(`attach takes a descriptor { kind, name, ... } or its JSON, got ${got}`);
  }
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !Object.hasOwn(ATTACH, kind)) {
    throw new TypeError(
      `descriptor.kind must be one of ${Object.keys(ATTACH).map((k) => `'${k}'`).join(", ")}, got ${describe(kind)}`,
    );
  }
  return ATTACH[kind as SharedKind](value);
}

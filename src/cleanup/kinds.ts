/**
 * The kinds of resource that cleanup removes: one row each, as in CPython's resource tracker. A new
 * kind (a named lock, a channel) is a new row here, and registers with the same watcher.
 */
import type { FileIdentity } from "../../ffi/libc.ts";
import { libc } from "../../ffi/runtime.ts";

/** How cleanup finds and removes one kind of resource by name. */
export interface ResourceKind {
  /** The word for one, in warnings: "segment". */
  readonly noun: string;
  /** The identity of what `name` names now, or -errno (ENOENT: nothing). */
  identify(name: string): FileIdentity | number;
  /** Removes `name`: 0 or -errno. */
  remove(name: string): number;
}

export const KINDS = {
  shm: {
    noun: "segment",
    identify: (name: string) => libc().shmIdentity(name),
    remove: (name: string) => libc().shmUnlink(name),
  },
} as const satisfies Readonly<Record<string, ResourceKind>>;

/** A kind's name, as the protocol writes it. */
export type KindName = keyof typeof KINDS;

/** Whether `name` is a kind this version knows. */
export function isKind(name: string | undefined): name is KindName {
  return name !== undefined && Object.hasOwn(KINDS, name);
}

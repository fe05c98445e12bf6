/**
 * When cleanup may remove a resource: only while the name still names the one this process made.
 * Someone else may have unlinked ours and made their own under the same name; removing by name alone
 * would remove theirs.
 *
 * - Made (its identity was read right after the create): the same device and inode.
 * - Only announced (the process ended between `announce` and `created`, a few microseconds around
 *   shm_open): the name may be ours, made an instant before the end, or someone else's that made our
 *   create fail. Ours is empty (it is sized only after `created` is sent) and its status changed at or
 *   after the announce (the announce time is read on the clock the kernel stamps files with, before
 *   shm_open). A segment that is empty and changed after the announce is taken for ours; anything else
 *   is left alone. Only a foreign segment made in the same microseconds and not yet sized could be
 *   mistaken, and only if this process died exactly there.
 * There is no atomic "unlink if still this inode": between the check and the unlink (microseconds)
 * another process could swap the name again. Nothing closes that gap in POSIX.
 */
import type { FileIdentity } from "../../ffi/libc.ts";
import { type KindName, KINDS } from "./kinds.ts";

/** A name this process made, or is about to make. */
export type Claim =
  & { readonly kind: KindName; readonly name: string }
  & ({ readonly made: { readonly dev: number; readonly ino: number } } | { readonly announcedNs: bigint });

/** Whether `now` (what the name names today) is the resource `claim` speaks of. */
export function stillOurs(claim: Claim, now: FileIdentity): boolean {
  if ("made" in claim) return now.dev === claim.made.dev && now.ino === claim.made.ino;
  return now.size === 0 && now.ctimeNs >= claim.announcedNs;
}

/** Removes what `claim` names if it is still ours; true if it removed it. */
export function removeIfOurs(claim: Claim): boolean {
  const kind = KINDS[claim.kind];
  const now = kind.identify(claim.name);
  if (typeof now === "number" || !stillOurs(claim, now)) return false;
  return kind.remove(claim.name) === 0;
}

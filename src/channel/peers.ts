/**
 * Who sends and who receives: each side of a channel has a table of process ids (layout.ts), so that a
 * process waiting on the other side can tell when every peer there has died and stop waiting.
 *
 * A process writes its pid into its side's table the first time it sends (or receives). A side of one
 * process has one slot, written by that process alone; a side of many processes claims slots under the
 * side's lock, so neither needs a read-modify-write of its own (Python has none). A slot whose process
 * has died is free again. A process counts as dead when `kill(pid, 0)` says it does not exist, or when
 * Linux shows it as a zombie (dead, not yet reaped by its parent).
 */
import { readFileSync } from "node:fs";
import { waitCalls } from "../../ffi/runtime.ts";
import { MAX_PEERS } from "./layout.ts";

/** This process's id. */
export function ownPid(): number {
  return waitCalls().pid;
}

/** Whether process `pid` still runs. */
export function isAlive(pid: number): boolean {
  if (!waitCalls().alive(pid)) return false;
  try {
    // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses)
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return true; // no /proc (macOS), or not ours to read: kill(pid, 0) said it exists
  }
}

/** The table of one side, at `first` (an Int32 index) in `words`. */
export class PeerTable {
  readonly words: Int32Array;
  readonly first: number;
  readonly slots: number;
  constructor(words: Int32Array, first: number, slots: number) {
    this.words = words;
    this.first = first;
    this.slots = slots;
  }

  /**
   * Writes `pid` into a free slot (or finds it there); the caller holds the side's lock, or is its only
   * process. Returns the pid already in the one slot of a one-process side when that process is alive
   * and is not `pid`, else 0.
   */
  register(pid: number): number {
    let free = -1;
    for (let i = 0; i < this.slots; i++) {
      const held = Atomics.load(this.words, this.first + i);
      if (held === pid) return 0;
      if (free < 0 && (held === 0 || !isAlive(held))) free = i;
    }
    if (free < 0) return Atomics.load(this.words, this.first);
    Atomics.store(this.words, this.first + free, pid);
    return 0;
  }

  /** Whether any process ever registered and every one of them has died (so none will ever come back). */
  allDead(): boolean {
    let seen = false;
    for (let i = 0; i < this.slots; i++) {
      const pid = Atomics.load(this.words, this.first + i);
      if (pid === 0) continue;
      if (isAlive(pid)) return false;
      seen = true;
    }
    return seen;
  }

  /** The pids registered now. */
  pids(): number[] {
    const found: number[] = [];
    for (let i = 0; i < this.slots; i++) {
      const pid = Atomics.load(this.words, this.first + i);
      if (pid !== 0) found.push(pid);
    }
    return found;
  }
}

/** A side's table size: one slot for a side of one process, MAX_PEERS for many. */
export function slotsFor(many: boolean): number {
  return many ? MAX_PEERS : 1;
}

/**
 * The asymmetric fence: how a channel's waker publishes with a plain store and still never misses a
 * sleeper.
 *
 * A wake-up between processes is Dekker's handshake: the waker stores the word (a channel's tail or
 * head) and then loads the sleepers' count; a sleeper raises the count and then loads the word. Each
 * side needs its store visible before its load, or each can miss the other: x86-64 lets a load pass an
 * earlier store still in the store buffer. A full fence on both sides (Atomics.store is an `xchg` on
 * x86-64) costs the waker on every message: measured in C, it held the ring's 64-byte messages at
 * 172-251 ns, against 59-218 ns with a plain store and 36-51 ns with a polling gap too
 * (docs/runtime-facts.md).
 *
 * The waker runs on every message and the sleeper only before a sleep, so the cost moves to the sleeper
 * (folly's asymmetricHeavyBarrier, liburcu's membarrier flavour, here between processes): every process
 * that publishes registers once with membarrier and then stores plainly; a sleeper, its count raised,
 * runs `fenceWakers()` (membarrier GLOBAL_EXPEDITED: a full barrier on each CPU that runs a registered
 * process, 0.3 us here with none running, 2.3 us with one spinning on the other CPU) before it loads the
 * word. Either the waker's store came before that barrier, and the sleeper's load sees it; or the
 * waker's load of the count comes after it, and sees the count. A waker not running is no problem: its
 * last switch off its CPU was a full barrier. The fence interrupts every CPU then running a registered
 * process, so its cost grows with the busy channel processes on the machine (2.3 us here with one),
 * paid once per sleep, and only by a sleeper.
 *
 * Where both sides sleep in turn (a request and its reply on one CPU) every wake-up is paid for by a
 * fence, two a round trip (in C, 5.5-6.2 us a round trip without them, 7.6-7.8 us with). So the
 * waker of a side of one tells its sleepers when it publishes by Atomics.store after all (the
 * channel's "ordered" words, src/channel/layout.ts): after a publish that woke a sleeper it does, until
 * 16 in a row found none, and a sleeper that reads the word set after raising its count skips the
 * fence. Set only after the plain store it follows, and cleared by an Atomics.store before the plain
 * stores it lets through, the word is never set while a plain store could pass a sleeper: one that
 * saw it set either sees every store since, or the waker sees its count (channel.ts #orderNext).
 *
 * Where the kernel refuses the fence, or the CPU does not keep stores in order (arm64), nobody
 * registers: wakers keep Atomics.store. Python's companion (shm_interop/channel.py) registers and fences
 * the same way. The one case this cannot cover is processes that share a segment across a seccomp
 * filter that lets one side call membarrier and not the other: a wake-up lost there costs one slice of
 * a channel's sleep (channel.ts SLICE_MS), never a hang.
 */
import { waitCalls } from "../../ffi/runtime.ts";

let registered: boolean | undefined;

/** Whether this process may publish with plain stores: it registers, once, on the first ask. */
export function plainStores(): boolean {
  return registered ??= waitCalls().fence.register();
}

/** A sleeper's fence, with its count raised and before it loads the word it sleeps on (see above). */
export function fenceWakers(): void {
  waitCalls().fence.fenceOthers();
}

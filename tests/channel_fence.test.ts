/**
 * The channel's asymmetric fence (src/sync/fence.ts): wakers publish the tail and the head with plain
 * stores once their process registered with membarrier, and every sleeper fences before it looks. What
 * the kernel and the platform table decide is checked through the calls; that no wake-up is lost, with
 * real processes of each kind on two CPUs, each side both spinning and sleeping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type LinuxSync, PLATFORMS } from "../ffi/platforms.ts";
import { waitCalls } from "../ffi/runtime.ts";
import { linuxWaitCalls, type OffLoopWaiter, type RawWait } from "../ffi/wait.ts";
import { type ChannelPeer, ok, startChannelPeer, withChannel } from "./helpers/channels.ts";

test("this machine's kernel has membarrier's global fence: a process registers, and the fence runs", () => {
  const { fence } = waitCalls();
  assert.equal(fence.register(), true);
  assert.equal(fence.register(), true, "registering again is a no-op");
  assert.equal(fence.fenceOthers(), true);
});

/** linuxWaitCalls over a binding whose membarrier answers `answer(command)` and records each command. */
function fenceWith(platform: keyof typeof PLATFORMS, answer: (command: number) => number) {
  const commands: number[] = [];
  const raw = new Proxy({}, {
    get: (_, name) => name === "membarrier" ? (command: number) => (commands.push(command), answer(command)) : () => 0,
  }) as RawWait;
  const row = PLATFORMS[platform].sync;
  if (row?.wait !== "futex") throw new Error(`${platform} is a Linux row`);
  const sync: LinuxSync = row;
  const calls = linuxWaitCalls(raw, sync, () => ({}) as OffLoopWaiter);
  return { fence: calls.fence, commands, sync };
}

test("where the CPU does not keep stores in order (arm64), nobody registers and no membarrier call is made", () => {
  const { fence, commands } = fenceWith("linux-aarch64", () => 0x7f);
  assert.equal(fence.register(), false);
  assert.equal(fence.fenceOthers(), false);
  assert.deepEqual(commands, []);
});

test("a kernel without the command, or refusing membarrier, leaves wakers on Atomics.store", () => {
  const refused = fenceWith("linux-x86_64", () => -1); // ENOSYS before 4.3, EPERM under seccomp
  assert.equal(refused.fence.register(), false);
  assert.equal(refused.fence.fenceOthers(), false);
  assert.deepEqual(refused.commands, [refused.sync.MEMBARRIER_CMD_QUERY], "asked once, then remembered");
  const older = fenceWith("linux-x86_64", () => 1); // MEMBARRIER_CMD_GLOBAL only (4.3 to 4.15)
  assert.equal(older.fence.register(), false);
  assert.deepEqual(older.commands, [older.sync.MEMBARRIER_CMD_QUERY]);
});

test("where the kernel has it, register and fence are the two commands, the query asked once", () => {
  const { fence, commands, sync } = fenceWith("linux-x86_64", (command) => command === 0 ? 0x7f : 0);
  assert.equal(fence.register(), true);
  assert.equal(fence.fenceOthers(), true);
  assert.equal(fence.fenceOthers(), true);
  assert.deepEqual(commands, [
    sync.MEMBARRIER_CMD_QUERY,
    sync.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
    sync.MEMBARRIER_CMD_GLOBAL_EXPEDITED,
    sync.MEMBARRIER_CMD_GLOBAL_EXPEDITED,
  ]);
});

// A request over one channel and its reply over another, the two processes on two CPUs, so a waker's
// plain store and a sleeper's look can meet; every 8th request comes after a pause of up to 1 ms, so the
// echo's spin gives up and it sleeps, and the pinger's too while it waits. A sleep that missed its wake-up
// lasts its whole slice (100 ms): no round trip may take that long, and every reply is its request's.
const PAIRS: [ChannelPeer, ChannelPeer][] = [["deno", "bun"], ["bun", "python"], ["python", "node"], ["node", "deno"]];
for (const [pinger, echo] of PAIRS) {
  test(`no wake-up lost to a plain store: 20,000 round trips, ${pinger} pings and ${echo} echoes, on two CPUs`, {
    timeout: 120_000,
  }, async () => {
    await withChannel("fencereq", { capacity: 64, senders: "one", receivers: "one" }, async (requests) => {
      await withChannel("fencerep", { capacity: 64, senders: "one", receivers: "one" }, async (replies) => {
        const req = JSON.stringify(requests);
        const rep = JSON.stringify(replies);
        const echoing = startChannelPeer(echo, ["echo", req, rep], { limitMs: 90_000, cpu: 1 });
        const pinging = startChannelPeer(pinger, ["ping", req, rep, "20000"], { limitMs: 90_000, cpu: 0 });
        const report = JSON.parse(await ok(pinging));
        assert.equal(await ok(echoing), "echoed 20000");
        assert.equal(report.count, 20000);
        assert.equal(report.wrong, 0, "a reply that was not its request's");
        assert.equal(report.slow, 0, `round trips that slept through their wake-up (longest ${report.maxMs} ms)`);
      });
    });
  });
}

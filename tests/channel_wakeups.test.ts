/**
 * Wake-ups between a channel's processes. The asymmetric fence (src/sync/fence.ts): wakers publish the
 * tail and the head with plain stores once their process registered with membarrier, and every sleeper
 * fences before it looks; what the kernel and the platform table decide is checked through the calls,
 * and that a sleeper does fence, by counting. Then that no wake-up is lost, with real processes of each
 * kind on two CPUs: receivers sleeping on the tail (request/reply), senders sleeping on the head of a
 * full ring (one kind at a time, and all four at once). A sleep that misses its wake-up lasts its whole
 * slice (100 ms), so a wait that long counts as one. A stall of the machine can make one too (seen once
 * in 57 runs here: a send of 96.6 ms, shorter than any slice), so each test allows MACHINE_STALLS of
 * them; the wrong head that one of these tests found cost 800 slices in 20,000 sends. These end-to-end
 * tests cannot tell a missing fence (the futex's own check in the kernel comes microseconds after the
 * sleeper's look, by when any store has long left its CPU's store buffer): the counting test does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type LinuxSync, PLATFORMS } from "../ffi/platforms.ts";
import { waitCalls } from "../ffi/runtime.ts";
import { linuxWaitCalls, type OffLoopWaiter, type RawWait } from "../ffi/wait.ts";
import { Channel } from "../mod.ts";
import { ROOT, runPython } from "./helpers/processes.ts";
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

/** Waits of a slice or more that a test allows: stalls of a busy VM, not lost wake-ups (see above). */
const MACHINE_STALLS = 2;

// A request over one channel and its reply over another, the two processes on two CPUs, so a waker's
// plain store and a sleeper's look can meet; every 8th request comes after a pause of up to 1 ms, so the
// echo's spin gives up and it sleeps, and the pinger's too while it waits. Every reply is its request's.
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
        assert.ok(report.slow <= MACHINE_STALLS, `${report.slow} round trips of a slice (longest ${report.maxMs} ms)`);
      });
    });
  });
}

test("a sleeper fences before it looks, and a process registers before its first plain store", async () => {
  const { fence } = waitCalls();
  const { register, fenceOthers } = fence;
  let registered = 0, fenced = 0;
  fence.register = () => (registered++, register());
  fence.fenceOthers = () => (fenced++, fenceOthers());
  try {
    await withChannel("fencecount", { capacity: 64, senders: "one", receivers: "one" }, async (channel) => {
      assert.equal(channel.tryReceive(), undefined);
      assert.throws(() => channel.receive({ timeout: 30 }), { name: "TimeoutError" }); // spins, then sleeps
      assert.ok(fenced >= 1, "the receiver slept without fencing");
      await assert.rejects(channel.receiveAsync({ timeout: 30 }), { name: "TimeoutError" });
      assert.ok(fenced >= 2, "the async receiver slept without fencing");
      channel.send("x");
    });
  } finally {
    fence.register = register;
    fence.fenceOthers = fenceOthers;
  }
  // registration is asked once per process (src/sync/fence.ts): counted if this test was first to ask
  assert.ok(registered <= 1);
});

test("Python: a sleeper fences before it looks, and a side registers for the fence", () => {
  using channel = Channel.create({ capacity: 64, senders: "one", receivers: "one" });
  const out = runPython(
    `
import json, sys
sys.path.insert(0, "${ROOT}python")
from shm_interop import channel as module
counts = {"fence": 0, "register": 0}
fence, register = module._fence_wakers, module._register_fence
module._fence_wakers = lambda: (counts.__setitem__("fence", counts["fence"] + 1), fence())[1]
module._register_fence = lambda: (counts.__setitem__("register", counts["register"] + 1), register())[1]
c = module.Channel(sys.argv[1])
try:
    c.receive(timeout=0.03)
except TimeoutError:
    pass
print(json.dumps(counts))
`,
    [JSON.stringify(channel)],
  );
  const counts = JSON.parse(out);
  assert.equal(counts.register, 1);
  assert.ok(counts.fence >= 1, "Python slept without fencing");
});

// A sender that finds a 64-byte ring full sleeps on the head it saw: a receiver that made room since,
// and saw no sender waiting yet, must not leave it asleep. The receiver is busy a random 0-40 us after
// each message, so the sender finds the ring full at random moments, on the other CPU.
const SENDERS: ChannelPeer[] = ["deno", "bun", "node", "python"];
for (const sender of SENDERS) {
  for (const senders of ["one", "many"] as const) {
    test(
      `a ${sender} sender waiting for room (senders: "${senders}"): 10,000 messages, no send sleeps through its wake-up`,
      {
        timeout: 120_000,
      },
      async () => {
        await withChannel("fullring", { capacity: 64, senders, receivers: "one" }, async (channel) => {
          const d = JSON.stringify(channel);
          const draining = startChannelPeer("deno", ["drain", d, "40"], { limitMs: 90_000, cpu: 1 });
          const report = JSON.parse(
            await ok(startChannelPeer(sender, ["send-timed", d, "0", "10000"], {
              limitMs: 90_000,
              cpu: 0,
            })),
          );
          const drained = JSON.parse(await ok(draining));
          assert.deepEqual(drained, { count: 10000, wrong: 0 });
          assert.ok(report.slow <= MACHINE_STALLS, `${report.slow} sends of a slice (longest ${report.maxMs} ms)`);
        });
      },
    );
  }
}

test("Deno, Bun, Node and Python senders at once into one full 64-byte ring: none sleeps through its wake-up", {
  timeout: 150_000,
}, async () => {
  await withChannel("fullmix", { capacity: 64, senders: "many", receivers: "one" }, async (channel) => {
    const d = JSON.stringify(channel);
    const each = 2500;
    const draining = startChannelPeer("deno", ["drain", d, "40", String(each * SENDERS.length)], {
      limitMs: 120_000,
      cpu: 1,
    });
    const at = String(Date.now() + 3000); // every sender has started before any sends
    const reports = await Promise.all(
      SENDERS.map((peer, i) =>
        ok(startChannelPeer(peer, ["send-timed", d, String(i + 1), String(each), at], { limitMs: 120_000, cpu: 0 }))
      ),
    );
    assert.deepEqual(JSON.parse(await ok(draining)), { count: each * SENDERS.length, wrong: 0 });
    const slow = reports.map((report, i) => `${SENDERS[i]}: ${JSON.parse(report).slow}`);
    const total = reports.reduce((sum, report) => sum + JSON.parse(report).slow, 0);
    assert.ok(total <= MACHINE_STALLS, `sends of a slice: ${slow.join(", ")}`);
  });
});

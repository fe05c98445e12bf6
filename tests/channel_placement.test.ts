/**
 * Where the two sides of a channel run: each side publishes the CPU it runs on (plus one) in its CPU
 * word (src/channel/layout.ts, version 2), and a waiter spins only while the other side's CPU is not its
 * own. Observable here: the words after registering, after a run pinned with `taskset`, from Python
 * too; a channel pinned apart and one pinned to one CPU both deliver every message; a version-1 channel
 * is refused. (Whether a spin paid is timing, which tests never assert: see bench/channel.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import process from "node:process";
import { Channel, MalformedObjectError } from "../mod.ts";
import { PYTHON, ROOT, runPython, type Runtime } from "./helpers/processes.ts";
import { waitCalls } from "../ffi/runtime.ts";
import {
  HEADER,
  MAX_PEERS,
  RECEIVE_LOCK_OFFSET,
  RING_OFFSET,
  SEND_LOCK_OFFSET,
  VERSION,
  WORD,
} from "../src/channel/layout.ts";
import { type ChannelPeer, ok, startChannelPeer, withChannel } from "./helpers/channels.ts";

/** The CPU words, as Int32 indices of the channel's first 1024 bytes (layout.ts WORD). */
const SENDER_CPU = 72 / 4;
const RECEIVER_CPU = 136 / 4;
const CPUS = availableParallelism();

function words(channel: Channel): Int32Array {
  const control = channel.shm.view(0, 1024);
  return new Int32Array(control.buffer, control.byteOffset, 256);
}

type Peer = ChannelPeer;

/** Runs a channel peer under `taskset -c cpu`: its stdout, or a failure after `limitMs`. */
function runPinned(peer: Peer, cpu: number, args: string[], limitMs = 60_000): Promise<string> {
  return ok(startChannelPeer(peer, args, { limitMs, cpu }));
}

test("each side publishes the CPU it runs on, plus one, when it registers; 0 until then", async () => {
  await withChannel("chanpin", { capacity: 4096, senders: "one", receivers: "one" }, (channel) => {
    const w = words(channel);
    assert.equal(w[SENDER_CPU], 0);
    assert.equal(w[RECEIVER_CPU], 0);
    assert.equal(channel.trySend(new Uint8Array(8)), true);
    assert.ok(w[SENDER_CPU] >= 1 && w[SENDER_CPU] <= CPUS, `sender CPU word ${w[SENDER_CPU]}`);
    assert.equal(w[RECEIVER_CPU], 0, "the receiver has not registered");
    assert.equal(channel.tryReceiveInto(new Uint8Array(8)), 8);
    assert.ok(w[RECEIVER_CPU] >= 1 && w[RECEIVER_CPU] <= CPUS, `receiver CPU word ${w[RECEIVER_CPU]}`);
  });
});

// Version 1 had no CPU words; version 2's sleepers do not fence, so a waker's plain store could pass them by;
// version 3's senders store plainly whatever the ordered words say, so a sleeper that skips its fence could miss them.
test("a channel of layout version 1, 2 or 3 is refused on attach, by name of its version", async () => {
  await withChannel("chanpin", { capacity: 4096 }, (channel) => {
    for (const old of [1, 2, 3]) {
      new DataView(channel.shm.view(0, 8).buffer, channel.shm.view(0, 8).byteOffset).setUint16(4, old, true);
      assert.throws(
        () => Channel.attach(channel.descriptor),
        (error: unknown) =>
          error instanceof MalformedObjectError && new RegExp(`version ${old}\\b.*version 4`).test(error.message),
      );
    }
  });
});

// A 4 KiB ring and 30,000 stream messages (8 to 1,008 bytes): the sender fills the ring often and the
// receiver empties it often, so both sides wait (spin or sleep) many times; every message is checked.
const PAIRS: [Runtime, Runtime][] = [["deno", "bun"], ["bun", "node"], ["node", "deno"]];
for (const [sender, receiver] of PAIRS) {
  for (const apart of CPUS >= 2 ? [true, false] : [false]) {
    const where = apart ? "the sender on CPU 1, the receiver on CPU 0" : "both on CPU 0";
    test(`${sender} -> ${receiver}, ${where}: every message arrives, and each side's CPU word names its CPU`, {
      timeout: 120_000,
    }, async () => {
      await withChannel("chanpin", { capacity: 4096, senders: "one", receivers: "one" }, async (channel) => {
        const d = JSON.stringify(channel);
        const senderCpu = apart ? 1 : 0;
        const [received, sent] = await Promise.all([
          runPinned(receiver, 0, ["check-stream", d]),
          runPinned(sender, senderCpu, ["stream", d, "3", "30000"]),
        ]);
        const checksum = sent.match(/^sent 30000, checksum (\d+)$/);
        assert.ok(checksum, `the sender said: ${sent}`);
        assert.deepEqual(JSON.parse(received), { count: 30000, bad: 0, outOfOrder: 0, checksum: Number(checksum[1]) });
        const w = words(channel);
        assert.equal(w[SENDER_CPU], senderCpu + 1, "the sender's CPU word");
        assert.equal(w[RECEIVER_CPU], 1, "the receiver's CPU word");
      });
    });
  }
}

test("Python publishes its CPU as TypeScript does: pinned apart, both ways, every message arrives", {
  timeout: 120_000,
  skip: CPUS < 2 ? "one CPU" : false,
}, async () => {
  for (const [sender, receiver] of [["python", "deno"], ["deno", "python"]] as Peer[][]) {
    await withChannel("chanpin", { capacity: 4096, senders: "one", receivers: "one" }, async (channel) => {
      const d = JSON.stringify(channel);
      const [report, sent] = await Promise.all([
        runPinned(receiver, 0, ["receive", d]),
        runPinned(sender, 1, ["send", d, "4", "2000", "end"]),
      ]);
      assert.equal(sent, "sent 2000");
      const { count, bad, outOfOrder } = JSON.parse(report);
      assert.deepEqual({ count, bad, outOfOrder }, { count: 2000, bad: 0, outOfOrder: 0 }, `${sender} -> ${receiver}`);
      const w = words(channel);
      assert.deepEqual([w[SENDER_CPU], w[RECEIVER_CPU]], [2, 1], `${sender} -> ${receiver}: the CPU words`);
    });
  }
});

test("Python refuses a channel of layout version 1 or 3 too", { timeout: 30_000 }, async () => {
  for (const old of [1, 3]) await refusedByPython(old);
});

async function refusedByPython(old: number): Promise<void> {
  await withChannel("chanpin", { capacity: 4096 }, async (channel) => {
    new DataView(channel.shm.view(0, 8).buffer, channel.shm.view(0, 8).byteOffset).setUint16(4, old, true);
    const script = [
      "import sys",
      "from shm_interop.channel import Channel, MalformedChannelError",
      "try:",
      "    Channel(sys.argv[1])",
      "    print('attached')",
      "except MalformedChannelError as error:",
      "    print(error)",
    ].join("\n");
    const child = spawn(PYTHON, ["-c", script, JSON.stringify(channel)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, PYTHONPATH: `${ROOT}python` },
    });
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0);
    assert.match(out, new RegExp(`has version ${old} `));
  });
}

// The ordered words (layout.ts, channel.ts #orderNext): a side of one that woke a sleeper publishes by
// Atomics.store, and says so, until 16 publishes in a row find none; its sleepers then skip the fence.
const SENDER_ORDERED = 76 / 4;
const RECEIVER_ORDERED = 140 / 4;
const RECEIVERS_WAITING = 68 / 4;
const SENDERS_WAITING = 132 / 4;

test("a side of one says it publishes in order after it woke a sleeper, until 16 publishes find none", async () => {
  await withChannel("chanord", { capacity: 4096, senders: "one", receivers: "one" }, (channel) => {
    const w = words(channel);
    const ordering = waitCalls().fence.register(); // where the fence is refused, stores stay ordered, and unsaid
    const expected = (set: boolean) => ordering && set ? 1 : 0;
    const byte = new Uint8Array(8);
    assert.equal(channel.trySend(byte), true);
    assert.equal(w[SENDER_ORDERED], 0, "no sleeper: plain stores");
    Atomics.store(w, RECEIVERS_WAITING, 1); // as a receiver asleep on the tail would
    assert.equal(channel.trySend(byte), true);
    assert.equal(w[SENDER_ORDERED], expected(true), "it woke a sleeper");
    Atomics.store(w, RECEIVERS_WAITING, 0);
    for (let i = 1; i <= 15; i++) assert.equal(channel.trySend(byte), true);
    assert.equal(w[SENDER_ORDERED], expected(true), "15 publishes found no sleeper: still in order");
    assert.equal(channel.trySend(byte), true);
    assert.equal(w[SENDER_ORDERED], 0, "the 16th: plain again");
    // the receiving side the same way, for the head
    Atomics.store(w, SENDERS_WAITING, 1);
    assert.equal(channel.tryReceiveInto(byte), 8);
    assert.equal(w[RECEIVER_ORDERED], expected(true), "a receive that woke a waiting sender");
    Atomics.store(w, SENDERS_WAITING, 0);
    for (let i = 1; i <= 16; i++) assert.equal(channel.tryReceiveInto(byte), 8);
    assert.equal(w[RECEIVER_ORDERED], 0);
  });
});

test("a side of many never says it publishes in order (its Python senders store plainly)", async () => {
  await withChannel("chanord", { capacity: 4096 }, (channel) => {
    const w = words(channel);
    Atomics.store(w, RECEIVERS_WAITING, 1);
    Atomics.store(w, SENDERS_WAITING, 1);
    assert.equal(channel.trySend(new Uint8Array(8)), true);
    assert.equal(channel.tryReceiveInto(new Uint8Array(8)), 8);
    assert.deepEqual([w[SENDER_ORDERED], w[RECEIVER_ORDERED]], [0, 0]);
    Atomics.store(w, RECEIVERS_WAITING, 0);
    Atomics.store(w, SENDERS_WAITING, 0);
  });
});

test(
  "a process that takes a free side clears an ordered word left set (as a holder that died leaves it): TypeScript and Python",
  {
    timeout: 60_000,
  },
  async () => {
    for (const peer of ["bun", "python"] as Peer[]) {
      // room for the 3 messages (each at most half the ring), so the sender never waits for this process
      await withChannel("chanord", { capacity: 1 << 16, senders: "one", receivers: "one" }, async (channel) => {
        const w = words(channel);
        Atomics.store(w, SENDER_ORDERED, 1); // as a sender killed in order would leave it
        const sent = await runPinned(peer, 0, ["send", JSON.stringify(channel), "1", "3"]);
        assert.equal(sent, "sent 3");
        assert.equal(w[SENDER_ORDERED], 0, `${peer} cleared it before its plain stores`);
        for (let i = 0; i < 3; i++) assert.notEqual(channel.tryReceive(), undefined);
      });
    }
  },
);

// A dead holder's pid can come back as a Python process's (pid reuse; pid namespaces): Python then finds
// its own pid in the slot, and must still clear the word it publishes plainly under (TypeScript does).
test("Python clears a stale ordered word when the side's slot already holds its own pid", { timeout: 30_000 }, () => {
  using channel = Channel.create({ capacity: 1 << 16, senders: "one", receivers: "one" });
  const w = words(channel);
  Atomics.store(w, SENDER_ORDERED, 1); // as a dead TypeScript sender of this pid would leave it
  const out = runPython(
    `import os, sys
sys.path.insert(0, "${ROOT}python")
from shm_interop.channel import Channel, WORD
c = Channel(sys.argv[1])
c._set(WORD["sender_pids"], os.getpid())  # the dead holder's pid, reused by this process
c.send(b"x")
print(c._get(WORD["sender_ordered"]))
c.close()`,
    [JSON.stringify(channel)],
  );
  assert.equal(out, "0", "Python published plainly with the ordered word still set");
  assert.notEqual(channel.tryReceive(), undefined);
});

test("Python's channel table is TypeScript's layout", { timeout: 30_000 }, () => {
  const out = runPython(
    `import json, sys
sys.path.insert(0, "${ROOT}python")
from shm_interop import channel
print(json.dumps({"version": channel.VERSION, "word": channel.WORD, "header": channel.HEADER, "ring": channel.RING_OFFSET,
    "locks": [channel.SEND_LOCK_OFFSET, channel.RECEIVE_LOCK_OFFSET], "peers": channel.MAX_PEERS}))`,
  );
  const python = JSON.parse(out);
  const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  assert.deepEqual(python.word, Object.fromEntries(Object.entries(WORD).map(([name, index]) => [snake(name), index])));
  assert.deepEqual(python.header, { capacity: HEADER.capacity, mode: HEADER.mode, max_peers: HEADER.maxPeers });
  assert.deepEqual(
    [python.version, python.ring, python.locks, python.peers],
    [VERSION, RING_OFFSET, [SEND_LOCK_OFFSET, RECEIVE_LOCK_OFFSET], MAX_PEERS],
  );
});

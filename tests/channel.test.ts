/** Channel in one process: kinds, full and empty, the end, timeouts and signals, zero copy, placement, bad input, fuzzed headers. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Channel, ChannelError, MalformedChannelError, MalformedObjectError, SharedMemory } from "../mod.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

function make(options: Partial<Parameters<typeof Channel.create>[0]> = {}): Channel {
  return Channel.create({ capacity: 4096, name: uniqueName("chanu"), ...options });
}

for (const parties of [{ senders: "one", receivers: "one" }, { senders: "many", receivers: "many" }] as const) {
  const label = `${parties.senders}/${parties.receivers}`;

  test(`${label}: bytes, strings and JSON values arrive as the kind they were sent as`, () => {
    using channel = make(parties);
    const messages = [
      new Uint8Array([0, 255, 7]),
      new Uint8Array(0),
      "",
      "héllo \u{1f600}",
      "x".repeat(500),
      null,
      0,
      -0.5,
      true,
      [1, [2]],
      { a: { b: "c" } },
    ];
    for (const m of messages) assert.equal(channel.trySend(m), true);
    for (const m of messages) assert.deepEqual(channel.tryReceive(), m);
    assert.equal(channel.tryReceive(), undefined);
  });

  test(`${label}: trySend is false when full, and room comes back as messages are received`, () => {
    using channel = make({ ...parties, capacity: 256 });
    let sent = 0;
    while (channel.trySend(new Uint8Array(24).fill(sent))) sent++;
    assert.equal(sent, 256 / 32);
    assert.deepEqual(channel.tryReceive(), new Uint8Array(24).fill(0));
    assert.equal(channel.trySend(new Uint8Array(24)), true);
    assert.equal(channel.trySend(new Uint8Array(24)), false);
  });

  test(`${label}: after end(), receivers drain, then receive says undefined and for await ends`, async () => {
    using channel = make(parties);
    channel.send("a");
    channel.send({ n: 2 });
    channel.end();
    assert.equal(channel.ended, true);
    assert.equal(channel.done, false);
    assert.throws(() => channel.send("late"), (e: unknown) => e instanceof ChannelError && e.code === "ended");
    const got = [];
    for await (const m of channel) got.push(m);
    assert.deepEqual(got, ["a", { n: 2 }]);
    assert.equal(channel.receive(), undefined);
    assert.equal(await channel.receiveAsync(), undefined);
    assert.equal(channel.done, true);
  });

  test(`${label}: a wait ends with a TimeoutError, an abort with the signal's reason`, async () => {
    using channel = make({ ...parties, capacity: 64 });
    assert.throws(() => channel.receive({ timeout: 30 }), { name: "TimeoutError" });
    await assert.rejects(channel.receiveAsync({ timeout: 30 }), { name: "TimeoutError" });
    const controller = new AbortController();
    const pending = channel.receiveAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await assert.rejects(pending, { message: "stop" });
    while (channel.trySend("12345678901234567890"));
    assert.throws(() => channel.send("x", { timeout: 30 }), { name: "TimeoutError" });
    await assert.rejects(channel.sendAsync("x", { signal: AbortSignal.timeout(30) }), { name: "TimeoutError" });
    assert.throws(() => channel.send("x", { signal: AbortSignal.abort(new Error("already")) }), { message: "already" });
  });

  test(`${label}: an async receive wakes when a message comes`, async () => {
    using channel = make(parties);
    const pending = channel.receiveAsync({ timeout: 10_000 });
    setTimeout(() => channel.send("late"), 30);
    assert.equal(await pending, "late");
  });

  test(`${label}: zero copy: reserve, fill, commit; a view of the ring until release`, () => {
    using channel = make({ ...parties, capacity: 1 << 16 });
    const view = channel.reserve(1000);
    assert.equal(view.length, 1000);
    view.fill(9);
    channel.commit(600);
    const read = channel.tryReceiveView()!;
    assert.equal(read.length, 600);
    assert.ok(read.every((b) => b === 9));
    assert.throws(() => channel.tryReceive(), TypeError); // still held
    channel.release();
    assert.equal(channel.tryReceiveView(), undefined);
    const target = new Uint8Array(8);
    channel.send(new Uint8Array([1, 2, 3]));
    assert.equal(channel.tryReceiveInto(target), 3);
    assert.deepEqual(target.subarray(0, 3), new Uint8Array([1, 2, 3]));
    assert.equal(channel.tryReceiveInto(target), -1);
  });
}

test("a message larger than half the ring is a RangeError; what no kind holds is a TypeError", () => {
  using channel = make({ capacity: 1024 });
  assert.equal(channel.maxMessageBytes, 504);
  assert.equal(channel.trySend(new Uint8Array(504)), true);
  assert.throws(() => channel.trySend(new Uint8Array(505)), RangeError);
  assert.throws(() => channel.trySend(undefined as never), TypeError);
  assert.throws(() => channel.trySend(new Int32Array(2) as never), TypeError);
  assert.throws(() => channel.trySend("\ud800"), RangeError);
  assert.throws(() => channel.reserve(505), RangeError);
});

test("options are checked: capacity, sides, unknown keys; capacity rounds up to a power of two", () => {
  assert.throws(() => Channel.create({} as never), TypeError);
  assert.throws(() => Channel.create({ capacity: 0 }), RangeError);
  assert.throws(() => Channel.create({ capacity: 2 ** 30 }), RangeError);
  assert.throws(() => Channel.create({ capacity: 64, senders: "two" as never }), TypeError);
  assert.throws(() => Channel.create({ capacity: 64, sise: 1 } as never), TypeError);
  using channel = make({ capacity: 1000 });
  assert.equal(channel.capacity, 1024);
});

test("placed in a segment at an offset, attached by descriptor and by its JSON; closing a handle leaves the channel", () => {
  const name = uniqueName("chanu");
  using shm = new SharedMemory({ create: true, size: 64 + 1024 + 4096, name });
  assert.throws(() => Channel.create({ capacity: 4096, shm, offset: 32 }), RangeError);
  const channel = Channel.create({ capacity: 4096, shm, offset: 64 });
  assert.deepEqual(channel.descriptor, { kind: "channel", name: shm.name, offset: 64 });
  const other = Channel.attach(JSON.stringify(channel));
  channel.send([1, 2]);
  assert.deepEqual(other.tryReceive(), [1, 2]);
  other.close();
  assert.throws(() => other.tryReceive(), TypeError);
  assert.equal(String(channel), `Channel('${shm.name}', offset=64, capacity=4096)`);
  channel.close();
  assert.equal(shm.closed, false);
  shm[Symbol.dispose]();
  assert.equal(segmentExists(name), false);
});

test("a second live sender of a one-sender channel is refused", () => {
  using channel = make({ senders: "one" });
  channel.send(1);
  // this process is the sender; another handle of the same process is the same sender
  using other = Channel.attach(channel.descriptor);
  assert.equal(other.trySend(2), true);
  // a live other process in the slot: pid 1 (init) is always alive
  new Int32Array(channel.shm.view(0, 1024).buffer, 0, 256)[48] = 1;
  using third = Channel.attach(channel.descriptor);
  assert.throws(() => third.trySend(3), (e: unknown) => e instanceof ChannelError && e.code === "taken");
});

test("a fuzzed header is refused with a clear error, never misread", () => {
  using channel = make({ capacity: 1024 });
  const header = channel.shm.view(0, 32);
  const original = header.slice();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 27 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      header.set(original);
      header[at] ^= flip;
      try {
        using attached = Channel.attach(channel.descriptor);
        // what still attaches is another valid channel (a smaller ring, other sides), wholly in the segment
        const capacity = attached.capacity;
        assert.ok((capacity & (capacity - 1)) === 0 && 1024 + capacity <= channel.shm.size, `byte ${at}`);
        assert.ok(at >= 12, `byte ${at} of the shared-object header changed and the channel still attached`);
      } catch (error) {
        assert.ok(
          error instanceof MalformedChannelError || error instanceof MalformedObjectError,
          `byte ${at}: ${error}`,
        );
      } finally {
        header.set(original);
      }
    }),
    { numRuns: 300 },
  );
});

test("corrupted live words and records are a MalformedChannelError, never a read outside the ring", () => {
  using channel = make({ capacity: 1024, senders: "one", receivers: "one" });
  const words = new Int32Array(channel.shm.view(0, 2048).buffer, 0, 512);
  fc.assert(
    fc.property(
      fc.constantFrom(16, 32, 256, 257, 258, 259),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      (index, value) => {
        words.fill(0, 16, 17);
        words.fill(0, 32, 33);
        channel.trySend(new Uint8Array([1, 2, 3]));
        channel.trySend("abc");
        words[index] = value;
        try {
          for (let i = 0; i < 4; i++) {
            const m = channel.tryReceive();
            if (m === undefined) break;
          }
        } catch (error) {
          assert.ok(error instanceof MalformedChannelError, String(error));
        }
      },
    ),
    { numRuns: 300 },
  );
});

for (const parties of [{ senders: "one", receivers: "one" }, { senders: "many", receivers: "many" }] as const) {
  const label = `${parties.senders}/${parties.receivers}`;

  test(`${label}: trySendMany sends what fits, in order, each as its own message; 0 when full`, () => {
    using channel = make({ ...parties, capacity: 256 });
    const batch = Array.from({ length: 12 }, (_, i) => new Uint8Array(24).fill(i));
    assert.equal(channel.trySendMany(batch), 8); // 256 bytes of ring hold 8 records of 32
    assert.equal(channel.trySendMany(batch, 8), 0);
    const target = new Uint8Array(24);
    for (let i = 0; i < 3; i++) {
      assert.equal(channel.tryReceiveInto(target), 24);
      assert.deepEqual(target, new Uint8Array(24).fill(i));
    }
    assert.equal(channel.trySendMany(batch, 8), 3);
    const got = [];
    for (let m = channel.tryReceive(); m !== undefined; m = channel.tryReceive()) got.push((m as Uint8Array)[0]);
    assert.deepEqual(got, [3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(channel.trySendMany([]), 0);
    channel.end();
    assert.throws(() => channel.trySendMany(batch), (e: unknown) => e instanceof ChannelError && e.code === "ended");
  });

  test(`${label}: trySendMany checks every message before it sends any`, () => {
    using channel = make({ ...parties, capacity: 1024 });
    assert.throws(() => channel.trySendMany("abc" as never), TypeError);
    assert.throws(() => channel.trySendMany([new Uint8Array(1), "x" as never]), TypeError);
    assert.throws(() => channel.trySendMany([new Uint8Array(1), new Uint8Array(505)]), RangeError);
    assert.throws(() => channel.trySendMany([new Uint8Array(1)], -1), RangeError);
    assert.equal(channel.tryReceive(), undefined, "nothing was sent");
  });

  test(`${label}: a message that receiveInto refuses stays queued for receive()`, () => {
    using channel = make(parties);
    channel.send("text");
    channel.send(new Uint8Array(100).fill(5));
    assert.throws(() => channel.tryReceiveInto(new Uint8Array(8)), TypeError);
    assert.equal(channel.tryReceive(), "text");
    assert.throws(() => channel.receiveInto(new Uint8Array(8)), RangeError);
    const target = new Uint8Array(100);
    assert.equal(channel.tryReceiveInto(target), 100);
    assert.ok(target.every((b) => b === 5));
  });

  test(`${label}: bytes arrive as they were at the send, from a reused, a fresh, an offset and a long source`, () => {
    using channel = make({ ...parties, capacity: 1 << 14 });
    const reused = new Uint8Array(64);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      reused.fill(i); // the same buffer, changed between sends
      assert.equal(channel.trySend(reused), true);
      sent.push(reused.slice());
    }
    const odd = new Uint8Array(70).map((_, i) => i).subarray(3, 70); // byteOffset 3, 67 bytes
    const long = new Uint8Array(3000).map((_, i) => i * 7);
    for (const m of [new Uint8Array([9, 8, 7]), odd, long, odd]) {
      assert.equal(channel.trySend(m), true);
      sent.push(m.slice());
    }
    const target = new Uint8Array(4000);
    for (const expected of sent) {
      const length = channel.tryReceiveInto(target);
      assert.deepEqual(target.subarray(0, length), expected);
    }
  });

  test(`${label}: after close(), the fast paths refuse like every other call`, () => {
    const channel = make(parties);
    channel.trySend(new Uint8Array(8));
    assert.equal(channel.tryReceiveInto(new Uint8Array(8)), 8);
    channel.close();
    assert.throws(() => channel.trySend(new Uint8Array(8)), TypeError);
    assert.throws(() => channel.send(new Uint8Array(8)), TypeError);
    assert.throws(() => channel.trySendMany([new Uint8Array(8)]), TypeError);
    assert.throws(() => channel.tryReceiveInto(new Uint8Array(8)), TypeError);
    assert.throws(() => channel.receiveInto(new Uint8Array(8)), TypeError);
    channel[Symbol.dispose]();
  });
}

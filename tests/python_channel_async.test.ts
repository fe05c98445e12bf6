/**
 * shm_interop.channel in asyncio (receive_async, send_async, `async for`) against real TypeScript
 * processes, with a 5 ms asyncio timer counting how often python3's event loop ran meanwhile; timeouts,
 * cancellation; and the refusal on machines whose memory order the ring cannot rely on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel } from "../mod.ts";
import { PYTHON, ROOT, RUNTIMES, scriptCommand } from "./helpers/processes.ts";
import { launch } from "./helpers/children.ts";
import { startPeer } from "./helpers/sync.ts";
import { segmentExists } from "./helpers/segments.ts";
import { python, pythonFixture, SLOW } from "./fixtures/python_interop.ts";

interface Report {
  count: number;
  bad: number;
  outOfOrder: number;
  seqs: Record<string, number[]>;
  ticks?: number;
}

/** A python3 script of tests/fixtures, with shm_interop importable (runpy gives it its own __file__). */
function pythonScript(script: string, args: readonly string[]): string[] {
  const file = `${ROOT}tests/fixtures/${script}`;
  return [
    PYTHON,
    "-c",
    `import runpy, sys; sys.path.insert(0, ${JSON.stringify(`${ROOT}python`)}); sys.argv[0] = ${
      JSON.stringify(file)
    }; runpy.run_path(sys.argv[0], run_name="__main__")`,
    ...args,
  ];
}

/** Starts `command`; resolves to its stdout (trimmed) once it exits 0 with nothing on stderr. */
async function finished(command: readonly string[]): Promise<string> {
  const ended = await launch(command).ended;
  assert.deepEqual([ended.status, ended.stderr], [0, ""], `${command.join(" ")}\n${ended.stdout}`);
  return ended.stdout.trim();
}

/** Runs `body` with a new channel, disposed (and its segment gone) after. */
async function withChannel(capacity: number, body: (channel: Channel, json: string) => Promise<void> | void) {
  const channel = Channel.create({ capacity });
  const name = channel.descriptor.name;
  try {
    await body(channel, JSON.stringify(channel));
  } finally {
    channel[Symbol.dispose]();
  }
  assert.equal(segmentExists(name), false);
}

for (const runtime of RUNTIMES) {
  test(
    `python3's async for receives every message a ${runtime} process sends, in order, its loop's timer firing`,
    SLOW,
    async () => {
      await withChannel(1024, async (_channel, json) => {
        const [, ...receiverArgs] = pythonScript("channel_peer.py", ["receive-async", json]);
        const receiver = startPeer("python3", receiverArgs);
        // the sender starts once python3's first wait is pending, so its loop has a wait to run beside
        await receiver.line("waiting");
        const sent = await finished(
          scriptCommand(runtime, "tests/fixtures/channel_peer.ts", ["send", json, "1", "2000", "end"]),
        );
        assert.equal(sent, "sent 2000");
        const [waiting, reportLine] = (await receiver.done).split("\n");
        assert.equal(waiting, "waiting");
        const report = JSON.parse(reportLine) as Report;
        assert.deepEqual([report.count, report.bad, report.outOfOrder], [2000, 0, 0]);
        assert.deepEqual(report.seqs["1"], Array.from({ length: 2000 }, (_, i) => i));
        assert.ok(report.ticks! >= 1, `the loop ran its timer ${report.ticks} times`);
      });
    },
  );

  test(
    `python3's send_async waits on a full ring for a ${runtime} receiver, and every message arrives in order`,
    SLOW,
    async () => {
      await withChannel(1024, async (_channel, json) => {
        // the receiver sleeps 1 ms a message: python3's sends wait on the full 1 KiB ring most of the time
        const receiver = finished(scriptCommand(runtime, "tests/fixtures/channel_peer.ts", ["receive", json, "1"]));
        const [sent, ticks] = (await finished(pythonScript("channel_peer.py", ["send-async", json, "7", "300", "end"])))
          .split(" ").slice(1);
        assert.equal(sent, "300");
        assert.ok(Number(ticks) >= 5, `the loop ran its timer ${ticks} times`);
        const report = JSON.parse(await receiver) as Report;
        assert.deepEqual([report.count, report.bad, report.outOfOrder], [300, 0, 0]);
        assert.deepEqual(report.seqs["7"], Array.from({ length: 300 }, (_, i) => i));
      });
    },
  );
}

test(
  "receive_async raises TimeoutError after its timeout; a cancelled receive_async leaves no waiter counted and loses no message",
  SLOW,
  async () => {
    await withChannel(1024, (channel, json) => {
      const child = python(
        `import asyncio, sys, time
from shm_interop import _wait_thread
from shm_interop.channel import Channel, WORD

async def main():
    with Channel(sys.argv[1]) as channel:
        start = time.monotonic()
        try:
            await channel.receive_async(timeout=0.3)
            print("no timeout")
        except TimeoutError:
            print("TimeoutError", time.monotonic() - start >= 0.29)
        task = asyncio.ensure_future(channel.receive_async())
        await asyncio.sleep(0.25)
        print("waiting", channel._get(WORD["receivers_waiting"]), _wait_thread.pending_entries())
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            print("cancelled", channel._get(WORD["receivers_waiting"]), _wait_thread.pending_entries())
        channel.send("after")  # this process is a receiver and a sender too
        print(await channel.receive_async(timeout=5))

asyncio.run(main())`,
        [json],
      );
      assert.deepEqual([child.status, child.stderr], [0, ""], child.stdout);
      assert.equal(child.stdout, "TimeoutError True\nwaiting 1 1\ncancelled 0 0\nafter\n");
      assert.equal(channel.tryReceive(), undefined, "the one message was received once, in python3");
    });
  },
);

test("a python3 receive_async is woken by a send from this process while its loop runs", SLOW, async () => {
  await withChannel(1024, async (channel, json) => {
    const peer = startPeer("python3", [
      "-c",
      `import asyncio, sys
sys.path.insert(0, ${JSON.stringify(`${ROOT}python`)})
from shm_interop import _wait_thread
from shm_interop.channel import Channel

async def main():
    ticks = 0
    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1
    timer = asyncio.ensure_future(ticker())
    with Channel(sys.argv[1]) as channel:
        task = asyncio.ensure_future(channel.receive_async(timeout=20))
        while not _wait_thread.pending_entries():
            await asyncio.sleep(0.005)
        print("waiting", flush=True)
        message = await task
        print(message, ticks >= 5)
    timer.cancel()

asyncio.run(main())`,
      json,
    ]);
    await peer.line("waiting");
    await new Promise((resolve) => setTimeout(resolve, 300));
    channel.send({ hello: "python" });
    assert.equal(await peer.done, "waiting\n{'hello': 'python'} True");
  });
});

test(
  "off x86-64, shm_interop still imports, a Channel refuses to attach (its ring needs x86-64's memory order), and futex calls say which machine they lack",
  SLOW,
  async () => {
    await withChannel(1024, (_channel, json) => {
      const out = pythonFixture("python_machine.py", [json]);
      assert.deepEqual(out.split("\n"), [
        "aarch64 imported",
        "aarch64 NotImplementedError shm_interop.channel needs x86-64, not 'aarch64'",
        "riscv64 imported",
        "riscv64 NotImplementedError shm_interop.channel needs x86-64, not 'riscv64'",
        "riscv64 OSError 38 shm_interop waits on Linux x86-64 and arm64 only, not on 'riscv64'",
      ]);
    });
  },
);

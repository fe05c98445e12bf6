/**
 * The other process of the channel benchmarks (bench/channel.ts):
 *   send64 DESCRIPTOR N        sends N 64-byte messages from one reused buffer (trySend, else send)
 *   send64many DESCRIPTOR N    the same from 16 reused buffers, by trySendMany (one store of the tail per batch)
 *   sendplain DESCRIPTOR N     the same with send(new Uint8Array(64)) per message
 *   send1M DESCRIPTOR N        N 1 MiB messages: reserve, copy one source buffer in, commit
 *   sendjson DESCRIPTOR N      N small JSON values
 *   echo REQ REPLY             receives each request from REQ and sends it back on REPLY, until REQ ends
 *   ping REQ REPLY BATCHES B WARMUP_MS
 *                              round trips for WARMUP_MS (at least B), then BATCHES x B timed ones: send a
 *                              request on REQ, wait for the reply on REPLY; ends REQ; prints each timed
 *                              batch's time per round trip (ns) as JSON
 *   pipe64 N                   N 64-byte writes to stdout, one write(2) each
 *   pipejson N                 N JSON lines to stdout, one write(2) each
 * Each but ping prints nothing (the parent times the receiving side).
 */
import process from "node:process";
import { writeSync } from "node:fs";
import { Channel } from "../mod.ts";
import { jsonValue } from "./channel_work.ts";
import { now } from "./harness.ts";

const [command, a, b, c] = process.argv.slice(2);

/**
 * One write(2) to stdout. A parent in Node hands its child a non-blocking stdout (a Unix socket pair,
 * libuv's stdio "pipe"), where a full buffer is EAGAIN: tried again at once (this side has its own CPU).
 */
function write(bytes: Uint8Array, at: number): number {
  for (;;) {
    try {
      return writeSync(1, bytes, at);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}

if (command === "pipe64" || command === "pipejson") {
  const n = Number(a);
  const encoder = new TextEncoder();
  const buffer = new Uint8Array(64);
  for (let i = 0; i < n; i++) {
    const bytes = command === "pipe64" ? buffer : encoder.encode(JSON.stringify(jsonValue(i)) + "\n");
    let written = 0;
    while (written < bytes.length) written += write(bytes, written);
  }
} else if (command === "ping") {
  using request = Channel.attach(a);
  using reply = Channel.attach(b);
  const [batches, batch, warmupMs] = [Number(c), Number(process.argv[6]), Number(process.argv[7] ?? 0)];
  process.stdout.write(JSON.stringify(ping(request, reply, batches, batch, warmupMs)) + "\n");
  request.end(); // echo stops
} else if (command === "echo") {
  using request = Channel.attach(a);
  using reply = Channel.attach(b);
  echo(request, reply);
} else {
  using channel = Channel.attach(a);
  const n = Number(b);
  if (command === "send64") {
    const buffer = new Uint8Array(64);
    for (let i = 0; i < n; i++) {
      buffer[0] = i;
      if (!channel.trySend(buffer)) channel.send(buffer);
    }
  } else if (command === "send64many") {
    const batch = Array.from({ length: 16 }, () => new Uint8Array(64));
    for (let i = 0; i < n;) {
      const count = Math.min(batch.length, n - i);
      for (let k = 0; k < count; k++) batch[k][0] = i + k;
      const messages = count === batch.length ? batch : batch.slice(0, count);
      for (let sent = 0; sent < count;) {
        const went = channel.trySendMany(messages, sent);
        if (went > 0) sent += went;
        else channel.send(messages[sent++]);
      }
      i += count;
    }
  } else if (command === "sendplain") {
    for (let i = 0; i < n; i++) channel.send(new Uint8Array(64));
  } else if (command === "send1M") {
    const source = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < n; i++) {
      channel.reserve(source.length).set(source);
      channel.commit();
    }
  } else if (command === "sendjson") {
    for (let i = 0; i < n; i++) channel.send(jsonValue(i));
  }
  channel.end();
}

/**
 * Round trips for `warmupMs` (at least one batch), then `batches` timed batches of `batch`: the time per
 * round trip of each (ns). The warm-up is sync_child.ts's, for the same reason: on one CPU the first tens
 * of thousands of round trips ran 1.5-8x slower (the JIT's threads share that CPU; Bun's tiers took the
 * longest). The loops are small functions of their own: in the module's body, Bun's FTL compiled the
 * whole body (every command) on that CPU for 40-60 ms, at about 1 s, in the middle of the timed batches.
 */
function ping(request: Channel, reply: Channel, batches: number, batch: number, warmupMs: number): number[] {
  const buffer = new Uint8Array(64);
  const durations: number[] = [];
  const begin = now();
  let timing = false;
  for (let t0 = begin; durations.length < batches;) {
    for (let i = 0; i < batch; i++) {
      request.send(buffer);
      if (reply.receiveInto(buffer) !== 64) throw new Error("the reply did not come");
    }
    const t = now();
    if (timing) durations.push((t - t0) / batch);
    else timing = t - begin >= warmupMs * 1e6;
    t0 = t;
  }
  return durations;
}

/** Sends each request back until the request channel ends. */
function echo(request: Channel, reply: Channel): void {
  const buffer = new Uint8Array(64);
  for (;;) {
    const length = request.receiveInto(buffer);
    if (length < 0) return;
    reply.send(length === buffer.length ? buffer : buffer.subarray(0, length));
  }
}

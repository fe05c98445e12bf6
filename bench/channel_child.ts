/**
 * The other process of the channel benchmarks (bench/channel.ts):
 *   send64 DESCRIPTOR N        sends N 64-byte messages from one reused buffer (trySend, else send)
 *   send64many DESCRIPTOR N    the same from 16 reused buffers, by trySendMany (one store of the tail per batch)
 *   sendplain DESCRIPTOR N     the same with send(new Uint8Array(64)) per message
 *   send1M DESCRIPTOR N        N 1 MiB messages: reserve, copy one source buffer in, commit
 *   sendjson DESCRIPTOR N      N small JSON values
 *   echo REQ REPLY N           N round trips: receive a request from REQ, send it back on REPLY
 *   ping REQ REPLY BATCHES B   BATCHES x B round trips (one more first): send a request on REQ, wait for
 *                              the reply on REPLY; prints each batch's time per round trip (ns) as JSON
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
  const [batches, batch] = [Number(c), Number(process.argv[6])];
  const buffer = new Uint8Array(64);
  const roundTrip = () => {
    request.send(buffer);
    if (reply.receiveInto(buffer) !== 64) throw new Error("the reply did not come");
  };
  roundTrip(); // both sides are running
  const durations: number[] = [];
  for (let s = 0; s < batches; s++) {
    const t0 = now();
    for (let i = s === 0 ? 1 : 0; i < batch; i++) roundTrip();
    durations.push((now() - t0) / (s === 0 ? batch - 1 : batch));
  }
  process.stdout.write(JSON.stringify(durations) + "\n");
} else if (command === "echo") {
  using request = Channel.attach(a);
  using reply = Channel.attach(b);
  const buffer = new Uint8Array(64);
  for (let i = 0; i < Number(c); i++) {
    const length = request.receiveInto(buffer);
    reply.send(length === buffer.length ? buffer : buffer.subarray(0, length));
  }
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

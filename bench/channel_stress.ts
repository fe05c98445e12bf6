/**
 * The long lost-wake-up stress of issue 15, run by hand (the suite runs a 40,000-message version):
 *
 *   deno run -A bench/channel_stress.ts [messages = 1700000]
 *
 * A Deno child sends (blocking and async sends alternating) through a 1 KiB ring, so both sides wait
 * all the time, to a Bun child that receives (blocking and async alternating) and checks every message
 * (tests/fixtures/channel_peer.ts). Prints the count sent and received, torn, out of order, gaps, seconds.
 */
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { Channel } from "../mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BIN = `${ROOT}tools/runtimes/node_modules/.bin/`;
const PEER = `${ROOT}tests/fixtures/channel_peer.ts`;
const count = process.argv[2] ?? "1700000";

using channel = Channel.create({ capacity: 1024, senders: "one", receivers: "one" });
const descriptor = JSON.stringify(channel);
const started = performance.now();
const receiver = spawn(`${BIN}bun`, ["run", PEER, "receive", descriptor], { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
receiver.stdout.on("data", (chunk) => out += chunk);
const sent = spawnSync(`${BIN}deno`, ["run", "-A", PEER, "send", descriptor, "3", count, "end"], { encoding: "utf8" });
await new Promise((resolve) => receiver.on("close", resolve));
const report = JSON.parse(out) as { count: number; bad: number; outOfOrder: number; seqs: Record<string, number[]> };
const seqs = report.seqs[3] ?? [];
const gaps = seqs.filter((seq, i) => seq !== i).length;
console.log(
  `${sent.stdout.trim()}; received ${report.count}; torn ${report.bad}; out of order ${report.outOfOrder}; gaps ${gaps}; ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s`,
);

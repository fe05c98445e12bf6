/**
 * What copying a large array to a Worker and back costs, alone, with where the time goes:
 *
 *   deno run --allow-read bench/post_message.ts [MiB = 1024] [rounds = 3]
 *   bun run bench/post_message.ts [MiB = 1024] [rounds = 3]
 *
 * Each round does one `structuredClone` of the array in this thread (one copy, no Worker), then one
 * round trip through `postMessage` to the handoff benchmark's Worker, which adds 1 to every 8th byte
 * and posts it back (the `postMessage-every8` row of bench/main.ts: two structured clones, each
 * serialised and then copied out again). Each line gives the wall time, and the page faults and system
 * time of the whole process over it: nearly all of a large copy is the kernel mapping fresh pages for
 * the copies (see docs/runtime-facts.md, "Memory on this VM").
 */
import process from "node:process";

const WORKER = new URL("./handoff_worker.ts", import.meta.url).href;
const MiB = 1 << 20;

const [mib = 1024, rounds = 3] = process.argv.slice(2).map(Number);
const runtime = "Bun" in globalThis ? `bun ${process.versions.bun}` : `deno ${process.versions.deno}`;

/** Runs `body` once and prints its wall time, and the process's page faults and system time during it. */
async function measure(label: string, body: () => unknown): Promise<void> {
  const before = process.resourceUsage();
  const t0 = performance.now();
  await body();
  const seconds = (performance.now() - t0) / 1000;
  const after = process.resourceUsage();
  const faults = after.minorPageFault - before.minorPageFault;
  const system = (after.systemCPUTime - before.systemCPUTime) / 1e6;
  console.log(
    `${label.padEnd(44)} ${seconds.toFixed(2).padStart(6)} s   ` +
      `${faults.toLocaleString("en-US").padStart(10)} page faults   ${system.toFixed(2).padStart(6)} s system time`,
  );
}

const worker = new Worker(WORKER, { type: "module" });
let resolve: (data: unknown) => void = () => {};
worker.onmessage = (event) => resolve(event.data);
const next = () => new Promise((r) => resolve = r);
await next(); // "ready"

console.log(`${runtime}: a ${mib} MiB Uint8Array, ${rounds} rounds`);
const data = new Uint8Array(mib * MiB);
let back: Uint8Array = data;
for (let round = 1; round <= rounds; round++) {
  await measure(`${round}: structuredClone (one copy, this thread)`, () => structuredClone(data));
  await measure(`${round}: postMessage to a Worker and back`, async () => {
    const reply = next();
    worker.postMessage({ data, work: "every8", transfer: false });
    back = await reply as Uint8Array;
  });
}
worker.terminate();
if (back === data || back[0] !== data[0] + 1) throw new Error("the Worker's changed copy did not come back");

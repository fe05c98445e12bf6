/**
 * A writer process flipping one item's format and code, whole and torn, while this process reads it:
 * every read is a `MalformedListError` or a value the slot's bytes really hold under some format, and
 * never a read beyond the slot. The reader runs for 5 s and makes millions of reads while the writer
 * changes the field every few hundred nanoseconds (both outcomes show up within the first second).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ListValue, MalformedListError, ShareableList } from "../mod.ts";
import { scriptCommand, start, THIS_RUNTIME } from "./helpers/processes.ts";
import { uniqueName } from "./helpers/segments.ts";

const SECONDS = 5;
const TEXT = "abcdefghij"; // item 1: 10 bytes in a 16-byte slot, NUL-padded

/** What item 1 may read as under any well-formed format: its first 8 bytes as each fixed kind, or a prefix. */
function isHonest(value: ListValue): boolean {
  const slot = new Uint8Array(16);
  slot.set([...TEXT].map((c) => c.charCodeAt(0)));
  const view = new DataView(slot.buffer);
  if (typeof value === "number" || typeof value === "bigint") {
    const int = view.getBigInt64(0, true);
    return BigInt.asIntN(64, BigInt(typeof value === "number" && !Number.isInteger(value) ? 0 : value)) === int ||
      Object.is(value, view.getFloat64(0, true));
  }
  if (value === true || value === null) return true;
  if (typeof value === "string") return TEXT.startsWith(value);
  if (value instanceof Uint8Array) return value.length <= TEXT.length && TEXT.startsWith(String.fromCharCode(...value));
  return false;
}

test(`a writer flipping an item's format for ${SECONDS} s: reads are MalformedListError or honest values`, {
  timeout: 60_000,
}, async () => {
  using list = new ShareableList([7, TEXT, -1], { name: uniqueName("race") });
  // N = 3: offsets at 8..40, data from 40 (slots 8, 16, 8), formats from 72, codes from 96
  const formatAt = 72 + 8;
  const codeAt = 96 + 1;
  const writer = start(scriptCommand(THIS_RUNTIME, "tests/fixtures/hostile_format_flipper.ts", [
    list.shm.name,
    String(formatAt),
    String(codeAt),
    String(SECONDS + 1),
  ]));
  let output = "";
  const exited = new Promise<number | null>((resolve) => writer.on("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the writer never started")), 30_000);
    writer.stdout.on("data", (chunk) => {
      output += chunk;
      if (output.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const seen = { reads: 0, malformed: 0, values: 0 };
  const wrong: string[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline && wrong.length < 10) {
    for (let k = 0; k < 1000; k++) {
      seen.reads++;
      try {
        const value = list.get(1);
        seen.values++;
        if (!isHonest(value)) wrong.push(`read ${String(value)}`);
      } catch (error) {
        if (error instanceof MalformedListError) seen.malformed++;
        else wrong.push(`threw ${error}`);
      }
    }
    if (list.get(0) !== 7 || list.get(2) !== -1) wrong.push("a neighbour changed");
  }
  const status = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("timeout"), 30_000))]);
  assert.equal(status, 0, `the writer ended with ${status}`);
  assert.deepEqual(wrong, []);
  assert.ok(seen.malformed > 0 && seen.values > 0, `both outcomes were met: ${JSON.stringify(seen)}`);
});

/**
 * The long-lived child process of the handoff benchmark, as baseline.c's child: it opens two pipes
 * (FIFOs made by the parent, `down` to read and `up` to write), says `k`, then serves fixed-size
 * commands with blocking reads and writes, so the numbers measure the handoff and not an event loop:
 *
 *   shm <work> <name>     attach by name, work in place, close; answers `k`
 *   kept <work> <name>    the same on a mapping kept open from the first such command; answers `k`
 *   release <name>        closes that kept mapping; answers `k`
 *   pipe <work> <bytes>   reads that many bytes, works on them, writes them back
 *   quit                  exits
 *
 *   deno run -A bench/handoff_child.ts <down> <up>    bun run bench/handoff_child.ts <down> <up>
 */
import { openSync, readSync, writeSync } from "node:fs";
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { type Work, work } from "./work.ts";

/** Every command is this many bytes of ASCII, space-padded. */
export const COMMAND_BYTES = 128;

/** Reads exactly `into.length` bytes; false at end of file. */
export function readFully(fd: number, into: Uint8Array): boolean {
  for (let got = 0; got < into.length;) {
    const n = readSync(fd, into, got, into.length - got, null);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

/** Writes all of `bytes`. */
export function writeFully(fd: number, bytes: Uint8Array): void {
  for (let put = 0; put < bytes.length;) put += writeSync(fd, bytes, put, bytes.length - put);
}

const OK = new TextEncoder().encode("k");

function serve(down: string, up: string): void {
  const input = openSync(down, "r");
  const output = openSync(up, "w");
  const command = new Uint8Array(COMMAND_BYTES);
  const kept = new Map<string, SharedMemory>();
  let payload = new Uint8Array(0);
  writeFully(output, OK);
  while (readFully(input, command)) {
    const [verb, kind, argument] = new TextDecoder().decode(command).trim().split(" ");
    if (verb === "quit") break;
    if (verb === "shm") {
      const shm = new SharedMemory({ name: argument });
      work(shm.buf, kind as Work);
      shm.close();
      writeFully(output, OK);
    } else if (verb === "kept") {
      let shm = kept.get(argument);
      if (!shm) kept.set(argument, shm = new SharedMemory({ name: argument }));
      work(shm.buf, kind as Work);
      writeFully(output, OK);
    } else if (verb === "release") {
      kept.get(kind)?.close();
      kept.delete(kind);
      writeFully(output, OK);
    } else if (verb === "pipe") {
      const size = Number(argument);
      if (payload.length !== size) payload = new Uint8Array(size);
      readFully(input, payload);
      work(payload, kind as Work);
      writeFully(output, payload);
    } else {
      throw new Error(`unknown command '${verb}'`);
    }
  }
}

if (import.meta.main) {
  const [down, up] = process.argv.slice(2);
  serve(down, up);
  process.exit(0);
}

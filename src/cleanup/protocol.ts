/**
 * What a process tells its crash watcher, one line per change, as CPython's resource tracker does
 * (`command:name:type`): a command, the kind of resource (a table row in `kinds.ts`), its name, and
 * what the command needs to know.
 *
 *   announce:shm:psm_1a2b3c4d:1733090000123456789   before shm_open can make the name (file-clock ns)
 *   created:shm:psm_1a2b3c4d:26:1041                after it made it: device and inode, its identity
 *   forget:shm:psm_1a2b3c4d                         unlinked, or the create failed
 *
 * Names are URI-encoded, so that no name can hold a `:` or a newline. Every line is far shorter than
 * PIPE_BUF (the longest, a 255-byte name all escaped, is under 800 bytes), so each write of whole lines
 * up to PIPE_BUF reaches the pipe whole or not at all, whichever thread or Worker writes it.
 */
import type { Claim } from "./ownership.ts";
import { isKind, type KindName } from "./kinds.ts";

/** One change, as the watcher reads it. */
export type Change =
  | { command: "announce" | "created"; claim: Claim }
  | { command: "forget"; kind: KindName; name: string };

/** Says that `kind` `name` may be made from now on (file-clock time `sinceNs`). */
export function announceLine(kind: KindName, name: string, sinceNs: bigint): string {
  return `announce:${kind}:${encodeURIComponent(name)}:${sinceNs}\n`;
}

/** Says that `kind` `name` was made, and which file it is. */
export function createdLine(kind: KindName, name: string, dev: number, ino: number): string {
  return `created:${kind}:${encodeURIComponent(name)}:${dev}:${ino}\n`;
}

/** Says that `kind` `name` is no longer ours to remove. */
export function forgetLine(kind: KindName, name: string): string {
  return `forget:${kind}:${encodeURIComponent(name)}\n`;
}

/** The change a line (without its newline) says, or undefined for a line this version does not know. */
export function parseLine(line: string): Change | undefined {
  const [command, kind, encoded, ...fields] = line.split(":");
  if (!isKind(kind) || encoded === undefined) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  if (command === "forget" && fields.length === 0) return { command, kind, name };
  if (command === "announce" && fields.length === 1 && /^\d+$/.test(fields[0])) {
    return { command, claim: { kind, name, announcedNs: BigInt(fields[0]) } };
  }
  if (command === "created" && fields.length === 2 && fields.every((field) => /^\d+$/.test(field))) {
    return { command, claim: { kind, name, made: { dev: Number(fields[0]), ino: Number(fields[1]) } } };
  }
  return undefined;
}

/**
 * A line's command and the key of its resource (`kind:encoded-name`), found without decoding anything:
 * the watcher's hot path, about 0.2 us a line (`parseLine` costs 5 us). Undefined for a line without both.
 */
export function splitLine(line: string): { command: string; key: string } | undefined {
  const afterCommand = line.indexOf(":");
  if (afterCommand < 0) return undefined;
  const afterKind = line.indexOf(":", afterCommand + 1);
  if (afterKind < 0) return undefined;
  const afterName = line.indexOf(":", afterKind + 1);
  return {
    command: line.slice(0, afterCommand),
    key: line.slice(afterCommand + 1, afterName < 0 ? line.length : afterName),
  };
}

/** The key a claim is kept under: one per kind and name. */
export function claimKey(kind: KindName, name: string): string {
  return `${kind}:${name}`;
}

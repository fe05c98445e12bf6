/**
 * This machine's shared memory segments, as Linux shows them: each is a file in /dev/shm, and each
 * process's open descriptors and mappings are listed under /proc/PID (`fd`, `maps`). Only root may
 * inspect every process (and not always then); `uninspected` counts those that could not be read.
 *
 * Segments are matched to processes by device and inode, never by parsing names out of /proc: a name
 * may hold a newline or end in " (deleted)". Entries are read with lstat: a symlink in /dev/shm is shown
 * as one and never followed, and anything that is not a regular file is never taken for a segment.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";

/** Where Linux keeps POSIX shared memory segments. */
export const SHM_DIR = "/dev/shm";

/** What an entry of /dev/shm is: only a `file` is a segment. */
export type EntryType = "file" | "symlink" | "directory" | "other";

/** One entry of /dev/shm. */
export interface Segment {
  /** The name as stored (print it with `printableName`). */
  name: string;
  type: EntryType;
  /** Size in bytes (a symlink's: the length of its target, which is not followed). */
  size: number;
  /** The owner's user name (the uid where /etc/passwd has none). */
  owner: string;
  /** Permission bits, such as 0o600. */
  mode: number;
  /** When it was made (its birth time where the file system keeps one, else its last status change), ms since 1970. */
  created: number;
  /** Its last change of size, mode or contents written through a descriptor, ms since 1970: its age counts from here. */
  changed: number;
  /** Device and inode: what processes are matched by. */
  dev: string;
  ino: string;
  /** The processes that map it or hold it open, lowest pid first. */
  users: ProcessRef[];
}

/** A process, as /proc names it. */
export interface ProcessRef {
  pid: number;
  /** The command name (`/proc/PID/comm`). */
  command: string;
}

/** Every entry of /dev/shm, with who uses each; `uninspected` counts processes whose /proc could not be read. */
export interface Survey {
  segments: Segment[];
  uninspected: number;
}

const PROC_PID = /^\d+$/;
/** A /proc/PID/maps line: address, perms, offset, device (major:minor, hex), inode (decimal), then the path. */
const MAPS_LINE = /^\S+ \S+ \S+ ([0-9a-f]+):([0-9a-f]+) (\d+)/;

/** `dev:ino`, the key a file is known by. */
const fileKey = (dev: bigint, ino: bigint | string) => `${dev}:${ino}`;

/** glibc's `makedev(major, minor)`: how st_dev encodes the device that /proc/PID/maps prints as `MM:mm`. */
function makedev(major: bigint, minor: bigint): bigint {
  return (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
}

/** The files among `wanted` (by key) that process `pid` holds open or maps; throws if its /proc entry cannot be read. */
function filesUsedBy(pid: string, wanted: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  // Descriptors before mappings: a process opens a segment, maps it, then closes the descriptor, so a
  // segment whose descriptor is gone by now is already mapped when the mappings are read.
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const stat = statSync(`/proc/${pid}/fd/${fd}`, { bigint: true });
      const key = fileKey(stat.dev, stat.ino);
      if (wanted.has(key)) found.add(key);
    } catch {
      // closed since the listing
    }
  }
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    const match = MAPS_LINE.exec(line);
    if (!match || match[3] === "0") continue;
    const key = fileKey(makedev(BigInt(`0x${match[1]}`), BigInt(`0x${match[2]}`)), match[3]);
    if (wanted.has(key)) found.add(key);
  }
  return found;
}

/** Who holds open or maps each of `wanted` (by key), over every process that can be inspected. */
export function usersOf(wanted: ReadonlySet<string>): { users: Map<string, ProcessRef[]>; uninspected: number } {
  const users = new Map<string, ProcessRef[]>();
  let uninspected = 0;
  for (const pid of readdirSync("/proc").filter((entry) => PROC_PID.test(entry))) {
    let keys: Set<string>;
    try {
      keys = filesUsedBy(pid, wanted);
    } catch (error) {
      // A process that ended meanwhile is no user; one we may not inspect might be.
      if ((error as { code?: string }).code !== "ENOENT") uninspected++;
      continue;
    }
    if (keys.size === 0) continue;
    const user = { pid: Number(pid), command: readCommand(pid) };
    for (const key of keys) users.set(key, [...users.get(key) ?? [], user]);
  }
  for (const list of users.values()) list.sort((a, b) => a.pid - b.pid);
  return { users, uninspected };
}

/** uid -> user name, from /etc/passwd. */
function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid !== undefined) names.set(Number(uid), name);
    }
  } catch {
    // no /etc/passwd: owners show as uids
  }
  return names;
}

/** One entry of /dev/shm as lstat sees it now, or undefined if it is gone. */
export function inspect(name: string, owners = userNames()): Segment | undefined {
  let stat;
  try {
    stat = lstatSync(`${SHM_DIR}/${name}`, { bigint: true });
  } catch {
    return undefined;
  }
  const type: EntryType = stat.isFile()
    ? "file"
    : stat.isSymbolicLink()
    ? "symlink"
    : stat.isDirectory()
    ? "directory"
    : "other";
  const ms = (ns: bigint) => Number(ns / 1_000_000n);
  return {
    name,
    type,
    size: Number(stat.size),
    owner: owners.get(Number(stat.uid)) ?? String(stat.uid),
    mode: Number(stat.mode) & 0o777,
    created: ms(stat.birthtimeNs > 0n ? stat.birthtimeNs : stat.ctimeNs),
    changed: ms(stat.ctimeNs > stat.mtimeNs ? stat.ctimeNs : stat.mtimeNs),
    dev: String(stat.dev),
    ino: String(stat.ino),
    users: [],
  };
}

/** The key `usersOf` knows an entry by. */
export const keyOf = (segment: Segment): string => `${segment.dev}:${segment.ino}`;

/** Every entry in /dev/shm, listed first, then the live processes that use each (so a segment made after the
 * listing is never judged on a look at /proc taken before it existed). */
export function survey(): Survey {
  const owners = userNames();
  const segments = readdirSync(SHM_DIR).sort().map((name) => inspect(name, owners)).filter((s) => s !== undefined);
  const files = segments.filter((segment) => segment.type === "file");
  const { users, uninspected } = usersOf(new Set(files.map(keyOf)));
  for (const segment of files) segment.users = users.get(keyOf(segment)) ?? [];
  return { segments, uninspected };
}

function readCommand(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

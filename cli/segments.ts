/**
 * This machine's shared memory segments, as Linux shows them: each is a file in /dev/shm, and each
 * process's mappings and open descriptors are listed under /proc/PID (`maps`, `fd`). Only root may
 * inspect every process (and not always then); `uninspected` counts those that could not be read.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";

/** Where Linux keeps POSIX shared memory segments. */
export const SHM_DIR = "/dev/shm";

/** One segment. */
export interface Segment {
  name: string;
  /** Size in bytes. */
  size: number;
  /** The owner's user name (the uid where /etc/passwd has none). */
  owner: string;
  /** Permission bits, such as 0o600. */
  mode: number;
  /** When it was made (its birth time where the file system keeps one, else its last status change), ms since 1970. */
  created: number;
  /** The processes that map it or hold it open, lowest pid first. */
  users: ProcessRef[];
}

/** A process, as /proc names it. */
export interface ProcessRef {
  pid: number;
  /** The command name (`/proc/PID/comm`). */
  command: string;
}

/** Every segment, with who uses it; `uninspected` counts processes whose maps could not be read. */
export interface Survey {
  segments: Segment[];
  uninspected: number;
}

const PROC_PID = /^\d+$/;
/** A /proc/PID/maps line: address, perms, offset, device, inode, then the path (which may hold spaces). */
const MAPS_LINE = /^\S+ \S+ \S+ \S+ \S+ +(.*)$/;
/** How /proc marks a path whose file was removed while mapped or open. */
const DELETED = " (deleted)";

/** The segment a path in /proc names, or undefined (another file, or a segment already unlinked). */
function segmentName(path: string): string | undefined {
  const prefix = `${SHM_DIR}/`;
  if (!path.startsWith(prefix) || path.endsWith(DELETED)) return undefined;
  return path.slice(prefix.length);
}

/** The segment names one process maps or holds open; throws if its /proc entry cannot be read. */
function namesUsedBy(pid: string): Set<string> {
  const names = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    const name = segmentName(MAPS_LINE.exec(line)?.[1] ?? "");
    if (name !== undefined) names.add(name);
  }
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const name = segmentName(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (name !== undefined) names.add(name);
    } catch {
      // closed since the listing
    }
  }
  return names;
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

/** Every segment in /dev/shm and the live processes that use each. */
export function survey(): Survey {
  const users = new Map<string, ProcessRef[]>();
  let uninspected = 0;
  for (const pid of readdirSync("/proc").filter((entry) => PROC_PID.test(entry))) {
    let names: Set<string>;
    try {
      names = namesUsedBy(pid);
    } catch (error) {
      // A process that ended meanwhile is no user; one we may not inspect might be.
      if ((error as { code?: string }).code !== "ENOENT") uninspected++;
      continue;
    }
    if (names.size === 0) continue;
    const user = { pid: Number(pid), command: readCommand(pid) };
    for (const name of names) users.set(name, [...users.get(name) ?? [], user]);
  }
  const owners = userNames();
  const segments: Segment[] = [];
  for (const name of readdirSync(SHM_DIR).sort()) {
    let stat;
    try {
      stat = statSync(`${SHM_DIR}/${name}`);
    } catch {
      continue; // removed since the listing
    }
    if (!stat.isFile()) continue;
    segments.push({
      name,
      size: stat.size,
      owner: owners.get(stat.uid) ?? String(stat.uid),
      mode: stat.mode & 0o777,
      created: stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.ctimeMs,
      users: (users.get(name) ?? []).sort((a, b) => a.pid - b.pid),
    });
  }
  return { segments, uninspected };
}

function readCommand(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/**
 * `shm`: list this machine's shared memory segments, remove one by name, or remove those no live
 * process uses.
 *
 *   deno task shm list [--json]               bun run cli/main.ts list [--json]
 *   deno task shm rm NAME...                  bun run cli/main.ts rm NAME...
 *   deno task shm sweep [--dry-run] [--prefix P] [--min-age 60s]
 *
 * Every name is printed escaped (`printableName`): a name is any bytes a local user chose.
 * Exit status: 0 done, 1 a segment could not be listed or removed, 2 a bad command line.
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { libc } from "../ffi/runtime.ts";
import { checkName } from "../src/names.ts";
import { errorFromErrno } from "../src/errors.ts";
import { printableName, printableText } from "../src/cleanup/printable.ts";
import { inspect, keyOf, type Segment, SHM_DIR, type Survey, survey, usersOf } from "./segments.ts";

/** How long a segment must be unchanged before `sweep` removes it: a younger one may be mid-handoff. */
const DEFAULT_MIN_AGE = "60s";

const USAGE = `usage: shm <command>

  list [--json]                  every segment: name, size, owner, age, and the processes that map it
  rm NAME...                     remove segments by name (the name as Python and this library print it)
  sweep [--dry-run] [--prefix P] [--min-age AGE]
                                 remove the segments that no live process maps or holds open
                                 (--dry-run: only say which; --prefix: only names starting with P;
                                 --min-age: only those unchanged for AGE, default ${DEFAULT_MIN_AGE}: 0, 500ms, 30s, 5m, 2h)`;

/** A bad command line: the message is printed with the usage, and the exit status is 2. */
class UsageError extends Error {}

/** A command: its allowed flags (true: takes a value) and what it does with the rest; returns the exit status. */
interface Command {
  flags: Readonly<Record<string, boolean>>;
  run(options: Record<string, string | true>, operands: string[]): number;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  list: { flags: { json: false }, run: (options, operands) => list(options.json === true, operands) },
  rm: { flags: {}, run: (_, operands) => remove(operands) },
  sweep: {
    flags: { "dry-run": false, prefix: true, "min-age": true },
    run: (options, operands) =>
      sweep({
        dryRun: options["dry-run"] === true,
        prefix: String(options.prefix ?? ""),
        minAgeMs: parseAge(String(options["min-age"] ?? DEFAULT_MIN_AGE)),
      }, operands),
  },
};

/** Runs the command line `args`; returns the exit status. */
export function main(args: readonly string[]): number {
  try {
    const [name, ...rest] = args;
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      console.log(USAGE);
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command '${printableName(name)}'`);
    const { options, operands } = parse(rest, command.flags);
    return command.run(options, operands);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`shm: ${error.message}\n\n${USAGE}`);
    return 2;
  }
}

/** Splits `--flag`, `--flag value`, `--flag=value` from operands; unknown flags are a UsageError. */
function parse(args: readonly string[], flags: Command["flags"]) {
  const options: Record<string, string | true> = {};
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      operands.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split(/=(.*)/s);
    if (!(flag in flags)) throw new UsageError(`unknown option '--${printableName(flag)}'`);
    if (!flags[flag]) {
      if (inline !== undefined) throw new UsageError(`--${flag} takes no value`);
      options[flag] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${flag} needs a value`);
    options[flag] = value;
  }
  return { options, operands };
}

/** The survey, or undefined (with a message saying why) where segments cannot be listed. */
function surveyHere(): Survey | undefined {
  if (process.platform !== "linux" || !existsSync(SHM_DIR)) {
    console.error(
      `shm: listing segments is Linux-only (it reads ${SHM_DIR} and /proc); ${process.platform} keeps POSIX ` +
        "shared memory where no file system shows it. `shm rm NAME` works everywhere.",
    );
    return undefined;
  }
  return survey();
}

function list(json: boolean, operands: string[]): number {
  if (operands.length > 0) throw new UsageError(`list takes no operands, got '${printableName(operands[0])}'`);
  const found = surveyHere();
  if (!found) return 1;
  const now = Date.now();
  if (json) {
    console.log(JSON.stringify(found, null, 2));
    return 0;
  }
  const rows = [
    ["NAME", "SIZE", "OWNER", "AGE", "PROCESSES"],
    ...found.segments.map((s) => [
      printableName(s.name),
      s.type === "file" ? formatSize(s.size) : "-",
      s.owner,
      formatAge(now - s.created),
      s.type === "file" ? userList(s) : `(${s.type}, not a segment${s.type === "symlink" ? ", not followed" : ""})`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  noteUninspected(found);
  return 0;
}

function remove(names: string[]): number {
  if (names.length === 0) throw new UsageError("rm needs the name of at least one segment");
  // Every name is checked before any is removed.
  for (const name of names) {
    try {
      checkName(name, "NAME");
    } catch (error) {
      throw new UsageError(`refusing '${printableName(name)}': ${printableText((error as Error).message)}`);
    }
  }
  let status = 0;
  for (const name of names) {
    const result = libc().shmUnlink(name);
    if (result < 0) {
      console.error(`shm: ${unlinkError(result, name)}`);
      status = 1;
    } else {
      console.log(`removed ${printableName(name)}`);
    }
  }
  return status;
}

/** What `sweep` removes: by name prefix, and only what no process has used or changed for `minAgeMs`. */
interface SweepOptions {
  dryRun: boolean;
  prefix: string;
  minAgeMs: number;
}

/**
 * Removes the segments no live process maps or holds open. A segment made after /dev/shm was listed is
 * not looked at; one changed within `minAgeMs` is kept (it may be between a creator and its first
 * attacher). Right before the unlinks /proc is read again, and right before each unlink the name is
 * checked to still be that file (same device and inode), still unchanged: what changed meanwhile is kept.
 */
function sweep({ dryRun, prefix, minAgeMs }: SweepOptions, operands: string[]): number {
  if (operands.length > 0) throw new UsageError(`sweep takes no operands, got '${printableName(operands[0])}'`);
  const found = surveyHere();
  if (!found) return 1;
  const oldEnough = (segment: Segment) => Date.now() - segment.changed >= minAgeMs;
  const chosen = found.segments.filter((segment) => segment.type === "file" && segment.name.startsWith(prefix));
  let unused = chosen.filter((segment) => segment.users.length === 0 && oldEnough(segment));
  if (!dryRun && unused.length > 0) {
    const { users } = usersOf(new Set(unused.map(keyOf)));
    unused = unused.filter((segment) => !users.has(keyOf(segment)));
  }
  let status = 0;
  let removed = 0;
  for (const segment of unused) {
    const about = `${printableName(segment.name)} (${formatSize(segment.size)}, ${segment.owner}, ${
      formatAge(Date.now() - segment.changed)
    } unchanged)`;
    if (dryRun) {
      console.log(`would remove ${about}`);
      continue;
    }
    const now = inspect(segment.name);
    if (!now || now.type !== "file" || keyOf(now) !== keyOf(segment) || now.changed !== segment.changed) continue;
    const result = libc().shmUnlink(segment.name);
    // Gone since the check (its owner unlinked it): nothing left to do.
    if (result < 0 && errorFromErrno(result, "shm_unlink", segment.name).code === "ENOENT") continue;
    if (result < 0) {
      console.error(`shm: ${unlinkError(result, segment.name)}`);
      status = 1;
      continue;
    }
    removed++;
    console.log(`removed ${about}`);
  }
  const verb = dryRun ? "would remove" : "removed";
  const count = dryRun ? unused.length : removed;
  console.log(
    `${verb} ${plural(count, "segment")} that no process uses; ${chosen.length - count} in use, young or changed kept`,
  );
  noteUninspected(found);
  return status;
}

/** A failed unlink's message, the name in it escaped. */
function unlinkError(result: number, name: string): string {
  const error = errorFromErrno(result, "shm_unlink", name);
  return printableText(error.message.replaceAll(name, printableName(name)));
}

const AGE_SUFFIXES: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `0`, `500ms`, `30s`, `5m`, `2h`, `1d` (a bare number is seconds) in milliseconds; a UsageError otherwise. */
export function parseAge(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text);
  if (!match) {
    throw new UsageError(`--min-age takes an age such as 0, 500ms, 30s, 5m or 2h, got '${printableName(text)}'`);
  }
  return Number(match[1]) * AGE_SUFFIXES[match[2] ?? "s"];
}

function userList(segment: Segment): string {
  return segment.users.map((user) => `${user.pid} ${user.command}`).join(", ") || "-";
}

function noteUninspected(found: Survey): void {
  if (found.uninspected === 0) return;
  console.log(
    `(${plural(found.uninspected, "process")} could not be inspected (no permission): ` +
      "a segment shown here as unused may be used by one of them)",
  );
}

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `512 B`, `4 KiB`, `1.5 MiB`. */
export function formatSize(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

const AGE_UNITS: readonly [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]];

/** `42s`, `3m12s`, `5h3m`, `2d4h`: the two largest units. */
export function formatAge(milliseconds: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, milliseconds);
  for (const [unit, size] of AGE_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  return parts.slice(0, 2).join("") || "0s";
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : word.endsWith("s") ? "es" : "s"}`;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));

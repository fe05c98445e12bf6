/**
 * The resources this thread made and has not removed yet, and their removal when it ends.
 *
 * Two cleaners share each claim; the first tracked create starts both (`track: false` starts neither):
 * - in this thread, a hook for every end that runs code: falling off the end, `process.exit()`,
 *   `Deno.exit()`, an uncaught error or unhandled rejection (`ProcessRuntime.onExit`);
 * - the crash watcher (`watcher.ts`, through `link.ts`), a second process that learns of each change and
 *   removes what is left once this process is gone, whatever ended it: SIGKILL, and SIGINT, SIGTERM or
 *   SIGHUP too. There are no signal listeners: a signal kills the process as it would without this
 *   library, at once and with the same status, and the watcher cleans up after it as after any crash.
 *
 * The watcher learns a name before shm_open can make it (`announce`), then its identity (`created`),
 * and `forget` when it is unlinked or the create failed. Either cleaner removes a name only while it
 * still names what this process made (`ownership.ts`). Each says what it removed in one line on stderr.
 * Attaching never tracks: a process that only attached never removes anything.
 */
import { libc, processRuntime, systemCalls } from "../../ffi/runtime.ts";
import type { KindName } from "./kinds.ts";
import { WatcherLink } from "./link.ts";
import { type Claim, removeIfOurs } from "./ownership.ts";
import { announceLine, claimKey, createdLine, forgetLine } from "./protocol.ts";
import { leftoverWarning, messageOf, warn } from "./warnings.ts";

const claims = new Map<string, Claim>();
let link: WatcherLink | undefined;
let hooked = false;

/** Says that this thread is about to create `name`: call it right before the create. Never throws. */
export function announce(kind: KindName, name: string): void {
  try {
    if (!hooked) hookExit();
    link ??= new WatcherLink(replay);
    link.ensure();
    const claim: Claim = { kind, name, announcedNs: systemCalls().fileClockNs() };
    claims.set(claimKey(kind, name), claim);
    link.send(claimKey(kind, name), announceLine(kind, name, claim.announcedNs));
  } catch (error) {
    warnOnce(`shared-memory: tracking failed (${messageOf(error)}); this segment may outlive the process`);
  }
}

/** Says that the announced `name` was created, as descriptor `fd`: its identity is read now. Never throws. */
export function created(kind: KindName, name: string, fd: number): void {
  const identity = libc().fstatIdentity(fd);
  // Without an identity (fstat failed) the claim stays an announced one: removed only if still empty.
  if (typeof identity === "number") return;
  claims.set(claimKey(kind, name), { kind, name, made: { dev: identity.dev, ino: identity.ino } });
  link?.send(claimKey(kind, name), createdLine(kind, name, identity.dev, identity.ino));
}

/** Stops tracking `name`: it was unlinked, or its create failed. */
export function untrack(kind: KindName, name: string): void {
  if (claims.delete(claimKey(kind, name))) link?.send(claimKey(kind, name), forgetLine(kind, name));
}

/** The names of the segments this thread tracks. */
export function trackedNames(): string[] {
  return [...claims.values()].filter((claim) => claim.kind === "shm").map((claim) => claim.name);
}

/** What a new watcher must hear: every claim still held. */
function* replay(): Iterable<[string, string]> {
  for (const [key, claim] of claims) {
    yield [
      key,
      "made" in claim
        ? createdLine(claim.kind, claim.name, claim.made.dev, claim.made.ino)
        : announceLine(claim.kind, claim.name, claim.announcedNs),
    ];
  }
}

/**
 * Removes every claim still ours, and names what it removed in one line on stderr. The watcher is not
 * told: what is removed it finds gone, and what is not ours it leaves by the same rule.
 */
function removeLeftovers(): void {
  const removed: string[] = [];
  for (const [key, claim] of claims) {
    if (removeIfOurs(claim)) removed.push(claim.name);
    claims.delete(key);
  }
  if (removed.length > 0) warn(leftoverWarning(removed, "at exit"));
}

function hookExit(): void {
  hooked = true;
  try {
    processRuntime().onExit(removeLeftovers);
  } catch (error) {
    warn(`shared-memory: no cleanup at exit (${messageOf(error)}); tracked segments stay until unlinked`);
  }
}

let warned = false;

function warnOnce(line: string): void {
  if (warned) return;
  warned = true;
  warn(line);
}

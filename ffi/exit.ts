/**
 * The runtime's side of "no segment outlives its use": running a cleanup however this process ends
 * while it can still run code, and starting the crash watcher (`watcher.ts`) for when it cannot.
 *
 * Signals: a listener changes what a signal does (without one, SIGINT, SIGTERM and SIGHUP kill the
 * process), so ours acts only when the program has none of its own: it cleans up, restores the default
 * action and sends the signal again, so that the process still dies by that signal (130, 143, 129 in a
 * shell). When the program listens itself, the program decides: if it exits, the exit hooks clean up;
 * if it keeps running, its segments stay (and if it dies later, the watcher removes them). A signal
 * ignored from the start (`nohup`, a background job) cannot end the process: it gets no listener and
 * stays ignored.
 *
 * Deno cannot list signal listeners, so the program's are counted from the first tracked segment on
 * (`process_deno.ts`); a signal that already had a handler then is left to the program, and to the
 * watcher. Likewise an uncaught error or rejection counts as handled when a `process.on` listener or
 * an earlier `error` / `unhandledrejection` listener handled it; a web listener added after the first
 * tracked segment that calls `preventDefault()` comes too late to keep the segments.
 */
import type { SignalAction } from "./libc.ts";
import type { SignalName } from "./platforms.ts";
import { processRuntime, systemCalls } from "./runtime.ts";
import { type Change, leftoverWarning, protocolLine } from "./watcher.ts";

export { leftoverWarning };

/** What `signal` does now; one that cannot be read counts as handled, and is left alone. */
function disposition(signal: number): SignalAction {
  const action = systemCalls().signalAction(signal);
  return typeof action === "number" ? "handled" : action;
}

/**
 * Runs `cleanup` (synchronously, at most as often as it is called for) when this process ends: out of
 * work, `process.exit()`, `Deno.exit()`, an uncaught error or unhandled rejection, and SIGINT, SIGTERM
 * and SIGHUP when the program does not handle them itself. Nothing runs on SIGKILL: see `startWatcher`.
 */
export function whenProcessEnds(cleanup: () => void): void {
  const runtime = processRuntime();
  const sys = systemCalls();
  runtime.onExit(cleanup);
  // Read every disposition before listening: Deno installs its handler for all three at its first listener.
  const signals = Object.entries(sys.signals).map(([signal, number]) => ({
    signal: signal as SignalName,
    number,
    now: disposition(number),
  }));
  for (const { signal, number, now } of signals) {
    if (now === "ignored" || (now === "handled" && !runtime.seesEarlierListeners)) continue;
    const listener = () => {
      if (runtime.programListens(signal, listener)) return;
      cleanup();
      // Die by the signal, as without a listener: restore its default action and send it again.
      sys.setSignalAction(number, "default");
      sys.kill(runtime.pid, number);
    };
    runtime.listen(signal, listener);
  }
  // A signal ignored from the start (nohup, a background job) stays ignored, although Deno took it over.
  for (const { number, now } of signals) if (now === "ignored") sys.setSignalAction(number, "ignored");
}

/** The write end of a crash watcher's pipe. */
export interface CrashWatcher {
  /** Tells the watcher a segment was created (`+`) or unlinked (`-`); false once the watcher is gone. */
  send(change: Change, name: string): boolean;
}

const encoder = new TextEncoder();

/**
 * Starts the crash watcher, or says why it cannot, as a clause such as "Deno needs --allow-run to
 * start one"; throws if starting it fails. A failure the child has after it started shows as `send`
 * returning false.
 */
export function startWatcher(): CrashWatcher | string {
  const sys = systemCalls();
  if (!sys.pipe) return "it needs pipe2, which this libc lacks";
  const script = new URL("./watcher.ts", import.meta.url);
  const { pid, whyNoWatcher, spawn } = processRuntime();
  const why = whyNoWatcher(script);
  if (why) return why;
  // Both ends close on exec, so that no other child of this process holds the pipe open; the child gets
  // a copy of the read end without that flag, which this process closes again once the child has it.
  const fds = sys.pipe();
  if (typeof fds === "number") return "its pipe could not be made";
  const [readEnd, writeEnd] = fds;
  const inherited = sys.dup(readEnd);
  if (inherited < 0) {
    sys.close(readEnd);
    sys.close(writeEnd);
    return "its pipe could not be made";
  }
  try {
    spawn(script, inherited, [String(pid)]);
  } catch (error) {
    sys.close(writeEnd);
    throw error;
  } finally {
    sys.close(inherited);
    sys.close(readEnd);
  }
  let open = true;
  return {
    send(change, name) {
      if (!open) return false;
      const line = encoder.encode(protocolLine(change, name));
      // Lines are far below PIPE_BUF, so each write is whole or fails (EPIPE once the watcher is gone).
      open = sys.write(writeEnd, line) === line.length;
      if (!open) sys.close(writeEnd);
      return open;
    },
  };
}

/** Deno's exit hook and subprocesses. Only `runtime.ts` imports this file, and only inside Deno. */
import type { ProcessRuntime } from "./process.ts";

/** Whether an uncaught error or rejection is handled: by a web listener before ours, or by `process.on`. */
function handled(event: Event, nodeEvent: string): boolean {
  const process = (globalThis as { process?: { listenerCount(event: string): number } }).process;
  return event.defaultPrevented || (process?.listenerCount(nodeEvent) ?? 0) > 0;
}

/** Deno's process. */
export function denoProcess(): ProcessRuntime {
  return {
    pid: Deno.pid,
    // Falling off the end, Deno.exit() and process.exit() all dispatch `unload`; an uncaught error or
    // rejection dispatches only `error` / `unhandledrejection` (docs/runtime-facts.md). In a Worker, only
    // process.exit() there dispatches `unload`: self.close() and terminate() run nothing (measured).
    onExit(cleanup) {
      addEventListener("unload", cleanup);
      addEventListener("error", (event) => handled(event, "uncaughtException") || cleanup());
      addEventListener("unhandledrejection", (event) => handled(event, "unhandledRejection") || cleanup());
    },
    whyNoWatcher() {
      if (Deno.build.standalone) return "a compiled program cannot start one";
      const run = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
      return run.state === "granted" ? undefined : "Deno needs --allow-run to start one";
    },
    spawn(script, fd, args) {
      // The child inherits `fd` (close-on-exec clear) at the same number; `detached` gives it its own session.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", "--no-prompt", "--quiet", "--no-config", script.href, String(fd), ...args],
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        detached: true,
      }).spawn();
      child.unref();
    },
  };
}

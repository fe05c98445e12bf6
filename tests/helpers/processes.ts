/**
 * Running real child processes from a test, the same way under `deno test`, `bun test` and
 * `node --test`: the same runtime, the other runtimes, and python3.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";

/** The repository's root folder, with a trailing slash. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The runtimes a test can run a TypeScript child in. */
export type Runtime = "deno" | "bun" | "node";

/** Every runtime, for tests that run a child in each. */
export const RUNTIMES: readonly Runtime[] = ["deno", "bun", "node"];

/** The runtime running this test. */
export const THIS_RUNTIME: Runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/**
 * Node's flags for a child: `--experimental-ffi` turns node:ffi on before Node 26.9 (it is on by default
 * from then), and the one ExperimentalWarning line it prints is turned off, so that a test can compare a
 * child's stderr exactly as with Deno and Bun.
 */
export const NODE_FLAGS: readonly string[] = ["--experimental-ffi", "--disable-warning=ExperimentalWarning"];

/**
 * The runtime a child of each kind runs in: the pinned one from tools/runtimes, else this process's own
 * binary or the one on PATH. The pinned path goes through node_modules/.bin on purpose: Deno's
 * node:child_process rewrites a spawn of its own `execPath` (it passes the parent's permissions on), and a
 * child must run exactly as a user's would.
 */
export function runtimePath(runtime: Runtime): string {
  const pinned = `${ROOT}tools/runtimes/node_modules/.bin/${runtime}`;
  if (existsSync(pinned)) return pinned;
  return runtime === THIS_RUNTIME ? process.execPath : runtime;
}

/** The command line that runs `script` (a path from the repository root) in `runtime`. */
export function scriptCommand(runtime: Runtime, script: string, args: readonly string[] = []): string[] {
  const file = `${ROOT}${script}`;
  switch (runtime) {
    case "deno":
      return [runtimePath("deno"), "run", "--allow-all", file, ...args];
    case "bun":
      return [runtimePath("bun"), "run", file, ...args];
    case "node":
      return [runtimePath("node"), ...NODE_FLAGS, file, ...args];
  }
}

/** python3: interop tests need it with numpy, and fail (never skip) without it. */
export const PYTHON = process.env.PYTHON ?? "python3";

/** What a finished child did. */
export interface ChildResult {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and returns what it printed. Throws if it cannot start. */
export function run(
  command: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): ChildResult {
  const [file, ...args] = command;
  const result = spawnSync(file, args, {
    encoding: "utf8",
    input: options.input,
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed; returns its stdout, trimmed. On failure the message shows its stderr. */
export function runOk(
  command: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): string {
  const result = run(command, options);
  if (result.status !== 0) {
    throw new Error(
      `${command.join(" ")} exited with ${
        result.status ?? result.signal
      }\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
  return result.stdout.trim();
}

/** Runs `code` in python3 (`python3 -c code args...`) and returns its stdout, trimmed. */
export function runPython(code: string, args: readonly string[] = []): string {
  return runOk([PYTHON, "-c", code, ...args]);
}

/** Runs a TypeScript file (a path from the repository root) in `runtime` and returns its stdout, trimmed. */
export function runScript(runtime: Runtime, script: string, args: readonly string[] = []): string {
  return runOk(scriptCommand(runtime, script, args));
}

/** Starts a command without waiting, for tests that signal or race children. */
export function start(command: readonly string[], options: { detached?: boolean } = {}) {
  const [file, ...args] = command;
  return spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false });
}

/** What the report says about the machine: CPU, memory, kernel, and the version of every tool. */
import type { Machine } from "./report.ts";

function capture(argv: string[]): string {
  try {
    const out = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
    return (new TextDecoder().decode(out.stdout) || new TextDecoder().decode(out.stderr)).trim();
  } catch (error) {
    return `unavailable (${error instanceof Error ? error.message : error})`;
  }
}

/** A file's text, or "" when it cannot be read. */
export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The machine and the versions of every tool, for the report's first table. */
export function describeMachine(
  tools: { root: string; deno: string; bun: string; node: string; python: string; cc: string; cflags: string[] },
): Machine {
  const { root, cc, cflags } = tools;
  const cpuinfo = readText("/proc/cpuinfo");
  const field = (name: string) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const memKiB = Number(readText("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  const os = readText("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1];
  const mitata = JSON.parse(readText(`${root}node_modules/mitata/package.json`) || "{}").version;
  const numpy = capture([tools.python, "-c", "import numpy; print(numpy.__version__)"]);
  return {
    cpu: [field("model name"), field("cpu family") && `family ${field("cpu family")} model ${field("model")}`]
      .filter(Boolean).join(", ") || "unknown",
    cores: navigator.hardwareConcurrency,
    virtualized: / hypervisor /.test(field("flags") ?? "") ? "yes (the CPU reports a hypervisor)" : "no",
    memory: memKiB ? `${(memKiB / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    kernel: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    os: os ?? "unknown",
    libc: capture(["ldd", "--version"]).split("\n")[0],
    deno: capture([tools.deno, "--version"]).split("\n").join(", "),
    bun: capture([tools.bun, "--version"]),
    node: capture([tools.node, "--version"]),
    python: `${capture([tools.python, "--version"])}, numpy ${numpy}`,
    cc: `${capture([cc, "--version"]).split("\n")[0]}, ${cflags.join(" ")}`,
    mitata: mitata ?? "unknown",
    commit: capture(["git", "-C", root, "rev-parse", "--short", "HEAD"]) +
      (capture(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"])
        ? " (with uncommitted changes)"
        : ""),
  };
}

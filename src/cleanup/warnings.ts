/** The lines cleanup prints on stderr: never more than one per event, and never a reason to fail. */
import { printableName } from "./printable.ts";

/** Prints `line` on stderr; a closed or broken stderr (`2>&-`, a reader gone) is ignored. */
export function warn(line: string): void {
  try {
    console.error(line);
  } catch {
    // nowhere to say it
  }
}

/** `shared-memory: unlinked 1 segment left at exit: psm_1a2b3c4d`, the names escaped (`printableName`). */
export function leftoverWarning(names: readonly string[], where: string): string {
  const count = names.length === 1 ? "1 segment" : `${names.length} segments`;
  return `shared-memory: unlinked ${count} left ${where}: ${names.map(printableName).join(", ")}`;
}

/** An error's message, for a warning line. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The work a handoff's receiver does on the array, the same in every language and method:
 * `ends` adds 1 to the first and the last byte (constant work, to show the handoff alone);
 * `every8` adds 1 to every 8th byte (touches every cache line and every page).
 */
export type Work = "ends" | "every8";

/** Changes `bytes` in place. */
export function work(bytes: Uint8Array, kind: Work): void {
  if (kind === "ends") {
    bytes[0]++;
    bytes[bytes.length - 1]++;
    return;
  }
  for (let i = 0; i < bytes.length; i += 8) bytes[i]++;
}

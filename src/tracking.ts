/** Segments this process created and has not unlinked yet (issue 5 builds cleanup at exit on this). */
const tracked = new Set<string>();

/** Remembers a segment this process created. */
export function track(name: string): void {
  tracked.add(name);
}

/** Forgets a segment once it is unlinked. */
export function untrack(name: string): void {
  tracked.delete(name);
}

/** The names still tracked. */
export function trackedNames(): string[] {
  return [...tracked];
}

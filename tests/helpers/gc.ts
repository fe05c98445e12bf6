/** Forcing a full garbage collection in a child: Bun's own call, or V8's `gc()` (Deno needs --v8-flags=--expose-gc, Node --expose-gc). */
export function forceGc(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc!();
}

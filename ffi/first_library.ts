/**
 * Which C library a binding opens: the first of the platform's `libraries` (glibc, glibc with librt,
 * musl's names) that opens with every symbol the binding declares. One loop for every binding of every
 * runtime: each runtime's `dlopen` throws when the file or a required symbol is missing.
 */
import type { LibraryCandidate } from "./platforms.ts";

/**
 * `open(candidate)` of the first candidate for which it does not throw. When none opens, the last
 * failure is thrown; a failure for which `fatal(error)` is true is thrown at once (Deno's missing
 * --allow-ffi, the same for every library).
 */
export function firstLibrary<T>(
  libraries: readonly LibraryCandidate[],
  open: (candidate: LibraryCandidate) => T,
  fatal: (error: unknown) => boolean = () => false,
): T {
  let lastError: unknown = new Error("the platform names no C library");
  for (const candidate of libraries) {
    try {
      return open(candidate);
    } catch (error) {
      if (fatal(error)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** `firstLibrary`, or undefined when no library opens: for calls a platform may lack (io_uring's). */
export function firstLibraryIfAny<T>(
  libraries: readonly LibraryCandidate[],
  open: (candidate: LibraryCandidate) => T,
): T | undefined {
  try {
    return firstLibrary(libraries, open);
  } catch {
    return undefined;
  }
}

/** What can go wrong with a channel that is not a wrong argument. */

/** A segment (or a place in one) that is not a channel this version can read, or a ring whose words are corrupted. */
export class MalformedChannelError extends Error {
  /** Made by the library when a header or a record fails its check. */
  constructor(message: string) {
    super(message);
    this.name = "MalformedChannelError";
  }
}

/**
 * Why a send or receive cannot go on:
 * - `ended`: `end()` was called, so no message may be sent any more;
 * - `no-receivers`: a sender waited on a full channel, and every process that ever received from it has died;
 * - `taken`: a side of one process already has its live process (or a side of many has 32).
 */
export type ChannelErrorCode = "ended" | "no-receivers" | "taken";

/** A send or receive that cannot go on; `code` says why. */
export class ChannelError extends Error {
  /** Why: `ended`, `no-receivers` or `taken`. */
  readonly code: ChannelErrorCode;

  /** Made by the library; the message says what happened in words. */
  constructor(code: ChannelErrorCode, message: string) {
    super(message);
    this.name = "ChannelError";
    this.code = code;
  }
}

/**
 * How a message becomes a record and back: `Uint8Array` as bytes, a string as UTF-8, anything else as
 * JSON text; each arrives as the kind it was sent as. Short strings are encoded and decoded in JS (a
 * TextEncoder or TextDecoder call costs about 1 us in Deno, more than the work for a few bytes).
 */
import { describe } from "../arguments.ts";
import { loneSurrogateAt, shortText, utf8Length, writeShortText } from "../utf8.ts";
import { RECORD_KINDS } from "./layout.ts";
import { MalformedChannelError } from "./errors.ts";

/** A value JSON can hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a channel carries: bytes, a string, or any JSON value (sent as JSON, received as the same value). */
export type Message = Uint8Array | JsonValue;

/** Strings up to this many UTF-8 bytes are encoded and decoded in JS. */
const SHORT = 64;

const encoder = new TextEncoder();
/** Strict, and keeping a leading U+FEFF (it is part of the string sent). */
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A message ready to be written: its record kind, its payload length, and the text of a string or JSON. */
export interface Encoded {
  kind: number;
  length: number;
  text: string;
}

/** The kind, length and text of `message`; a TypeError for what no kind holds, a RangeError for a lone surrogate. */
export function encode(message: unknown, out: Encoded): Encoded {
  if (typeof message === "string") {
    out.kind = RECORD_KINDS.string;
    out.text = message;
  } else if (message instanceof Uint8Array) {
    out.kind = RECORD_KINDS.bytes;
    out.length = message.length;
    out.text = "";
    return out;
  } else {
    if (ArrayBuffer.isView(message) || message instanceof ArrayBuffer || message instanceof SharedArrayBuffer) {
      throw new TypeError(
        "a channel sends bytes as a Uint8Array: wrap other binary data as new Uint8Array(x.buffer, x.byteOffset, x.byteLength)",
      );
    }
    const text = JSON.stringify(message);
    if (text === undefined) {
      throw new TypeError(`a channel sends Uint8Arrays, strings and JSON values, got ${describe(message)}`);
    }
    out.kind = RECORD_KINDS.json;
    out.text = text;
  }
  const length = utf8Length(out.text);
  if (length < 0) {
    throw new RangeError(
      `cannot send a string with a lone surrogate (at ${loneSurrogateAt(out.text)}): UTF-8 cannot hold it`,
    );
  }
  out.length = length;
  return out;
}

/** Writes the payload of an encoded `message` at `at`. */
export function writePayload(message: unknown, encoded: Encoded, bytes: Uint8Array, at: number): void {
  if (encoded.kind === RECORD_KINDS.bytes) bytes.set(message as Uint8Array, at);
  else if (encoded.length <= SHORT) writeShortText(encoded.text, bytes, at);
  else encoder.encodeInto(encoded.text, bytes.subarray(at, at + encoded.length));
}

/** The message of a record: a copy of its bytes, or its text decoded (and parsed, for JSON). */
export function decode(kind: number, bytes: Uint8Array, at: number, length: number): Message {
  if (kind === RECORD_KINDS.bytes) return bytes.slice(at, at + length);
  const text = decodeText(bytes, at, length);
  if (kind === RECORD_KINDS.string) return text;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedChannelError(`a JSON message is not JSON: ${(error as Error).message}`);
  }
}

function decodeText(bytes: Uint8Array, at: number, length: number): string {
  const text = length <= SHORT ? shortText(bytes, at, at + length) : undefined;
  if (text !== undefined) return text;
  try {
    return decoder.decode(bytes.subarray(at, at + length));
  } catch {
    throw new MalformedChannelError(`a ${length}-byte text message is not UTF-8`);
  }
}

/** UTF-8 lengths counted in JS: a TextEncoder call costs about 1 us in Deno, far more than the count. */

/** The length of `text` in UTF-8 bytes, or -1 if it holds a lone surrogate (which UTF-8 cannot hold). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit < 0xd800 || unit > 0xdfff) bytes += 3;
    else if (unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one character outside the BMP
      i++;
    } else return -1;
  }
  return bytes;
}

/** The index of the first lone surrogate in `text`, or -1. */
export function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else return i;
  }
  return -1;
}

/**
 * Short UTF-8 decoded in JS (a TextDecoder call costs more for a few bytes). Strict: undefined for any
 * byte sequence that is not well-formed UTF-8 (overlong, surrogate, above U+10FFFF, cut short), so the
 * caller falls back to the fatal TextDecoder, which says why.
 */
export function shortText(bytes: Uint8Array, start: number, end: number): string | undefined {
  let text = "";
  let k = start;
  while (k < end) {
    const lead = bytes[k];
    if (lead < 0x80) {
      text += String.fromCharCode(lead);
      k++;
      continue;
    }
    const sequence = UTF8_LEAD[lead];
    if (sequence === undefined || k + sequence.follow >= end) return undefined;
    let point = lead & sequence.mask;
    for (let j = 1; j <= sequence.follow; j++) {
      const next = bytes[k + j];
      if ((next & 0xc0) !== 0x80) return undefined;
      point = (point << 6) | (next & 0x3f);
    }
    if (point < sequence.min || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return undefined;
    text += String.fromCodePoint(point);
    k += sequence.follow + 1;
  }
  return text;
}

/** Writes a well-formed string (no lone surrogate: see `utf8Length`) as UTF-8 at `at`, in JS: faster than encodeInto for short ones. */
export function writeShortText(value: string, bytes: Uint8Array, at: number): void {
  let k = at;
  for (let j = 0; j < value.length; j++) {
    let point = value.charCodeAt(j);
    if (point < 0x80) {
      bytes[k++] = point;
    } else if (point < 0x800) {
      bytes[k++] = 0xc0 | (point >> 6);
      bytes[k++] = 0x80 | (point & 0x3f);
    } else if (point < 0xd800 || point > 0xdbff) {
      bytes[k++] = 0xe0 | (point >> 12);
      bytes[k++] = 0x80 | ((point >> 6) & 0x3f);
      bytes[k++] = 0x80 | (point & 0x3f);
    } else {
      point = 0x10000 + ((point - 0xd800) << 10) + (value.charCodeAt(++j) - 0xdc00);
      bytes[k++] = 0xf0 | (point >> 18);
      bytes[k++] = 0x80 | ((point >> 12) & 0x3f);
      bytes[k++] = 0x80 | ((point >> 6) & 0x3f);
      bytes[k++] = 0x80 | (point & 0x3f);
    }
  }
}

/** UTF-8's multi-byte sequences: the lead bytes, how many bytes follow, the lead's payload, the least code point. */
const UTF8_SEQUENCES = [
  { first: 0xc2, last: 0xdf, follow: 1, mask: 0x1f, min: 0x80 },
  { first: 0xe0, last: 0xef, follow: 2, mask: 0x0f, min: 0x800 },
  { first: 0xf0, last: 0xf4, follow: 3, mask: 0x07, min: 0x10000 },
] as const;

/** The sequence each byte starts, by byte value (undefined: not a lead byte). */
const UTF8_LEAD: readonly (typeof UTF8_SEQUENCES[number] | undefined)[] = Array.from(
  { length: 256 },
  (_, byte) => UTF8_SEQUENCES.find((sequence) => byte >= sequence.first && byte <= sequence.last),
);

// The byte stream every throughput run moves, and its cheap check. The byte at stream offset `o` is
// `o % 251`: a prime period, so a lost, repeated or reordered chunk (any size that is not a multiple
// of 251) shifts every later byte and is caught by sampling three bytes per chunk. With the exact
// byte count this verifies the stream for O(1) work per chunk; the bytes in between are already
// authenticated by TLS's AEAD.

export const PATTERN_PERIOD = 251;
/** Every sender writes 64 KiB at a time. */
export const WRITE_BYTES = 64 * 1024;

const source = new Uint8Array(WRITE_BYTES + PATTERN_PERIOD);
for (let i = 0; i < source.length; i++) source[i] = i % PATTERN_PERIOD;

/**
 * The pattern bytes at [offset, offset + length), length <= WRITE_BYTES, as a view: no copy per write.
 * @param {number} offset
 * @param {number} [length]
 */
export function patternAt(offset, length = WRITE_BYTES) {
  const start = offset % PATTERN_PERIOD;
  return source.subarray(start, start + length);
}

export class PatternCheck {
  bytes = 0;
  mismatches = 0;

  /**
   * Checks `bytes[0, length)`, the next part of the stream; takes a length so no view is made per chunk.
   * @param {Uint8Array} bytes
   * @param {number} [length]
   */
  add(bytes, length = bytes.byteLength) {
    if (length === 0) return;
    const at = this.bytes;
    const middle = length >> 1;
    if (
      bytes[0] !== at % PATTERN_PERIOD ||
      bytes[middle] !== (at + middle) % PATTERN_PERIOD ||
      bytes[length - 1] !== (at + length - 1) % PATTERN_PERIOD
    ) {
      this.mismatches++;
    }
    this.bytes += length;
  }

  /**
   * The report a receiver gives: exact count, and whether every sample matched.
   * @param {number} expectedBytes
   */
  result(expectedBytes) {
    return { bytes: this.bytes, verified: this.mismatches === 0 && this.bytes === expectedBytes };
  }
}

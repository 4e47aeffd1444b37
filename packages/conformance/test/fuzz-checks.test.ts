import { describe, expect, it } from 'vitest';
import { checkReadsInto } from '../src/fuzz/execute.ts';

function settled(into: Uint8Array, filledBytes: number) {
  const filled = into.subarray(0, filledBytes);
  return { index: 3, into, filled, copy: filled.slice() };
}

describe('the fuzz check of read(into)', () => {
  it('accepts a view of the start of the buffer, left alone afterwards', () => {
    const into = new Uint8Array(8);
    const read = settled(into, 3);
    into.set([1, 2, 3]);
    read.copy.set([1, 2, 3]);
    expect(checkReadsInto([read])).toEqual([]);
  });

  it('flags a result that is not a view of the buffer passed in', () => {
    const into = new Uint8Array(8);
    const filled = new Uint8Array(3);
    expect(checkReadsInto([{ index: 1, into, filled, copy: filled.slice() }])).toEqual([
      '#1 read(into) resolved with a view that is not the start of the buffer passed in',
    ]);
  });

  it('flags an empty result', () => {
    expect(checkReadsInto([settled(new Uint8Array(8), 0)])).toEqual([
      '#3 read(into) resolved with 0 bytes for a 8-byte buffer',
    ]);
  });

  it('flags a write into the buffer after its read settled, inside or past the bytes it gave', () => {
    const inside = new Uint8Array(8);
    const first = settled(inside, 4);
    inside[1] = 9;
    const past = new Uint8Array(8);
    const second = settled(past, 4);
    past[6] = 9;
    expect(checkReadsInto([first, second])).toEqual([
      '#3 the buffer of a settled read(into) was written to afterwards',
      '#3 the buffer of a settled read(into) was written to afterwards',
    ]);
  });
});

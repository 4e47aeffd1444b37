import { describe, expect, it } from 'vitest';
import { SUMMARY_END, SUMMARY_START, withSummary } from '../src/readme.ts';

describe('withSummary', () => {
  const readme = `# x\n\nintro\n\n${SUMMARY_START}\n- old line\n${SUMMARY_END}\n\n## next\n`;

  it('replaces only the lines between the markers', () => {
    expect(withSummary(readme, ['node: a', 'bun: b'])).toBe(
      `# x\n\nintro\n\n${SUMMARY_START}\n- node: a\n- bun: b\n${SUMMARY_END}\n\n## next\n`,
    );
  });

  it('is stable: a second run changes nothing', () => {
    const once = withSummary(readme, ['node: a'])!;
    expect(withSummary(once, ['node: a'])).toBe(once);
  });

  it('returns null without both markers', () => {
    expect(withSummary('# x\n', ['node: a'])).toBeNull();
    expect(withSummary(`${SUMMARY_END}\n${SUMMARY_START}\n`, ['node: a'])).toBeNull();
  });
});

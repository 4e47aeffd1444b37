/** The readable report: one table row per finding, then the advice for each one that is not ok. */
import type { FindingId, ProbeReport, Verdict } from './types.ts';

const TITLES: Record<FindingId, string> = {
  verification: 'verification',
  certificate: 'certificate',
  versions: 'TLS versions',
  session: 'cipher / ALPN',
  serverClose: 'server ends',
  halfClose: 'half-close',
  afterCloseNotify: 'after close_notify',
  idleTimeout: 'idle timeout',
};

const COLOURS: Record<Verdict, number> = { ok: 32, risky: 33, broken: 31, skipped: 90 };

export function renderHuman(report: ProbeReport, colour: boolean): string {
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const bold = (text: string) => paint(1, text);
  const { target } = report;
  const lines = [
    bold(
      `closenotify probe ${target.host}:${target.port}${target.starttls ? ` (STARTTLS ${target.starttls})` : ''}` +
        `${target.servername !== target.host ? `, servername ${target.servername}` : ''} on ${report.runtime}`,
    ),
  ];
  if (report.error) {
    lines.push(
      `${paint(COLOURS.broken, 'could not connect')}: ${report.error.code}: ${report.error.message}`,
    );
    return `${lines.join('\n')}\n`;
  }
  const width = Math.max(...report.findings.map((finding) => TITLES[finding.id].length));
  lines.push('');
  for (const finding of report.findings) {
    const verdict = paint(COLOURS[finding.verdict], finding.verdict.padEnd(7));
    lines.push(`  ${TITLES[finding.id].padEnd(width)}  ${verdict} ${finding.summary}`);
  }
  const notable = report.findings.filter(
    (finding) => finding.verdict === 'risky' || finding.verdict === 'broken',
  );
  if (notable.length > 0) lines.push('');
  for (const finding of notable) {
    lines.push(`  ${paint(COLOURS[finding.verdict], `${TITLES[finding.id]}:`)} ${finding.advice}`);
  }
  const { counts } = report;
  lines.push(
    '',
    `${counts.ok} ok, ${counts.risky} risky, ${counts.broken} broken, ${counts.skipped} skipped ` +
      `in ${(report.durationMs / 1000).toFixed(1)} s (exit ${report.exitCode})`,
  );
  return `${lines.join('\n')}\n`;
}

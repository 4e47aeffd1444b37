/**
 * What `ca` means for a TLS context, the same on every runtime: the anchors alone, or, with
 * `caAddsToDefaultTrust`, the runtime's default trust and then the anchors. Only where a runtime takes
 * `ca` as its whole trust store does the adapter need this (Deno's `caCerts` already adds).
 */
import type { ResolvedSocketOptions } from './options.ts';

export function trustAnchors(
  options: Pick<ResolvedSocketOptions, 'ca' | 'caAddsToDefaultTrust'>,
  defaultTrust: () => readonly string[],
): string[] | undefined {
  if (options.ca === undefined || !options.caAddsToDefaultTrust) return options.ca;
  return [...defaultTrust(), ...options.ca];
}

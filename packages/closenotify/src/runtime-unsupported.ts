import { SecureSocketError } from '@closenotify/core/public';

/** What every closenotify entry gives where no runtime condition matched. */
export function runtimeUnsupported(): SecureSocketError {
  return new SecureSocketError(
    'ERR_RUNTIME_UNSUPPORTED',
    'closenotify runs on Node, Bun and Deno only: this runtime matched none of the "node", "bun" or "deno" export conditions',
    { phase: 'connect' },
  );
}

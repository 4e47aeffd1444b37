/**
 * RFC 6066 §3: the SNI extension carries host names only; a literal IPv4 or IPv6 address is not
 * permitted. A connection whose servername (by default its hostname) is an IP address sends no SNI,
 * and the certificate is verified against that address (its iPAddress subjectAltNames).
 */

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;
// A scope ("fe80::1%eth0") belongs to the address, not to the name.
const IPV6_ZONE = /%[\w.-]+$/;
const IPV6_GROUPS = 8;

function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

function isIpv6(text: string): boolean {
  const address = text.replace(IPV6_ZONE, '');
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const all = groups.flat();
  // An embedded IPv4 address ("::ffff:127.0.0.1") may stand for the last two groups.
  const last = all.at(-1);
  const embedsIpv4 = last !== undefined && isIpv4(last);
  const hexGroups = embedsIpv4 ? all.slice(0, -1) : all;
  if (!hexGroups.every((group) => IPV6_GROUP.test(group))) return false;
  const count = hexGroups.length + (embedsIpv4 ? 2 : 0);
  return halves.length === 2 ? count < IPV6_GROUPS : count === IPV6_GROUPS;
}

/** A literal IPv4 or IPv6 address (no brackets), as opposed to a host name. */
export function isIpAddress(name: string): boolean {
  return isIpv4(name) || (name.includes(':') && isIpv6(name));
}

/** The name to send as SNI for a servername: the name itself, or null for an IP address. */
export function serverNameIndication(servername: string): string | null {
  return isIpAddress(servername) ? null : servername;
}

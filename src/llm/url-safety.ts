import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Outbound URL safety (SSRF protection) for agent base URLs and webhooks.
 *
 * - Always refused: non-http(s) schemes, credentials in the URL, link-local (169.254/16, fe80::/10),
 *   cloud metadata (169.254.169.254, fd00:ec2::254, metadata.google.internal), multicast and reserved.
 * - Refused unless `allowPrivate`: private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7),
 *   loopback (127/8, ::1, localhost), 0.0.0.0/8 and `::`.
 * IPv4-mapped/NAT64 IPv6 addresses are judged by the IPv4 address they embed.
 *
 * Known limit: the check resolves the name, then fetch resolves it again (DNS rebinding window).
 * Closing it needs a dispatcher with a pinned lookup (undici is not a dependency).
 */
export class UnsafeUrlError extends Error {
  constructor(readonly reason: string) {
    super(`Upstream URL refused: ${reason}`);
    this.name = 'UnsafeUrlError';
  }
}

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.goog']);

function blockList(v4: [string, number][], v6: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
}

const METADATA_IPS = blockList(
  [
    ['169.254.169.254', 32],
    ['100.100.100.200', 32],
  ],
  [['fd00:ec2::254', 128]],
);
const ALWAYS_BLOCKED = blockList(
  [
    ['169.254.0.0', 16],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ],
  [
    ['fe80::', 10],
    ['ff00::', 8],
  ],
);
const PRIVATE = blockList(
  [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['0.0.0.0', 8],
  ],
  [
    ['fc00::', 7],
    ['::1', 128],
    ['::', 128],
  ],
);

/** `::ffff:a.b.c.d`, `::ffff:aabb:ccdd` and NAT64 `64:ff9b::…` carry an IPv4 address: return it. */
function embeddedIpv4(ip: string): string | null {
  const lower = ip.toLowerCase();
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(lower);
  if (!m) return null;
  if (m[1]) return m[1];
  const hi = parseInt(m[2], 16);
  const lo = parseInt(m[3], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why this IP address may not be called, or null when it may. */
export function ipProblem(ip: string, allowPrivate: boolean): string | null {
  const v4 = isIP(ip) === 6 ? embeddedIpv4(ip) : null;
  const addr = v4 ?? ip;
  const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
  if (isIP(addr) === 0) return 'not an IP address';
  if (METADATA_IPS.check(addr, family)) return 'cloud metadata addresses are not allowed';
  if (ALWAYS_BLOCKED.check(addr, family)) return 'link-local, multicast and reserved addresses are not allowed';
  if (!allowPrivate && PRIVATE.check(addr, family)) return 'private and loopback addresses are not allowed';
  return null;
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function parse(url: string): { parsed: URL | null; problem: string | null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { parsed: null, problem: 'not a valid URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return { parsed, problem: 'only http and https URLs are allowed' };
  if (parsed.username || parsed.password) return { parsed, problem: 'credentials in the URL are not allowed' };
  if (!parsed.hostname) return { parsed, problem: 'the URL has no host' };
  return { parsed, problem: null };
}

function hostProblem(host: string, allowPrivate: boolean): string | null {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(name)) return 'cloud metadata addresses are not allowed';
  if (!allowPrivate && (name === 'localhost' || name.endsWith('.localhost')))
    return 'private and loopback addresses are not allowed';
  return null;
}

/**
 * Synchronous check for DTO validation: scheme, credentials, metadata host names and literal IPs.
 * Returns null when acceptable, otherwise a human-readable reason. Host names are not resolved here.
 */
export function validateUpstreamUrlSyntax(url: string, allowPrivate = false): string | null {
  const { parsed, problem } = parse(url);
  if (problem || !parsed) return problem;
  const host = stripBrackets(parsed.hostname);
  if (isIP(host)) return ipProblem(host, allowPrivate);
  return hostProblem(host, allowPrivate);
}

/**
 * Full check before an upstream call: the syntax check, then every address the host name resolves to.
 * Throws UnsafeUrlError when refused; DNS failures propagate as they are (a connection problem).
 */
export async function assertSafeUpstreamUrl(url: string, allowPrivate: boolean): Promise<void> {
  const problem = validateUpstreamUrlSyntax(url, allowPrivate);
  if (problem) throw new UnsafeUrlError(problem);
  const host = stripBrackets(new URL(url).hostname);
  if (isIP(host)) return;
  const addresses = await lookup(host, { all: true, verbatim: true });
  for (const { address } of addresses) {
    const p = ipProblem(address, allowPrivate);
    if (p) throw new UnsafeUrlError(`${host} resolves to a refused address (${p})`);
  }
}

import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Hops of X-Forwarded-For looked at, from the right: a longer chain is someone's invention. */
const MAX_HOPS = 32;

export type ClientKeySource = 'header' | 'forwarded' | 'address';

/** Who a request is from, as far as query-attack detection is concerned. */
export interface ClientKey {
  /**
   * 16 hex digits of HMAC-SHA-256 over the source and value under a secret salt: what the
   * memory is keyed by and what logs and evidence show. Fixed-size whatever the client sent,
   * no API key in the clear, and no address recoverable by hashing the address space.
   */
  readonly hash: string;
  readonly source: ClientKeySource;
}

/** ::ffff:10.1.2.3 (an IPv4 client on a dual-stack socket) is 10.1.2.3. */
function normalise(address: string): string {
  const trimmed = address.trim();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(trimmed) ? trimmed.slice(7) : trimmed;
}


/**
 * Derives the client key of a request: the value of a configured header (an API key that a
 * gateway has checked) when the request has one; otherwise the address of the right-most
 * hop that is not a trusted proxy. X-Forwarded-For is read only when the connection itself
 * comes from a trusted proxy; with none configured it is ignored, so a spoofed one changes
 * nothing.
 */
export class ClientKeys {
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;
  private readonly salt: Buffer;

  constructor(
    private readonly header: string | undefined,
    trustedProxies: readonly string[],
    salt: string | undefined = undefined,
  ) {
    this.salt = salt === undefined ? randomBytes(32) : Buffer.from(salt, 'utf8');
    for (const entry of trustedProxies) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(prefix), family);
    }
    this.anyTrusted = trustedProxies.length > 0;
  }

  /** An address hashes the same whether it came as the peer or through a proxy. */
  private hashOf(source: ClientKeySource, value: string): ClientKey {
    const kind = source === 'header' ? 'header' : 'address';
    return { hash: createHmac('sha256', this.salt).update(kind).update('\0').update(value).digest('hex').slice(0, 16), source };
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  of(headers: IncomingHttpHeaders, remoteAddress: string | undefined): ClientKey {
    if (this.header !== undefined) {
      const raw = headers[this.header];
      const value = Array.isArray(raw) ? raw.join(',') : raw;
      if (value !== undefined && value.trim() !== '') return this.hashOf('header', value.trim());
    }
    const peer = normalise(remoteAddress ?? '');
    if (!this.anyTrusted || !this.isTrusted(peer)) return this.hashOf('address', peer);
    const forwarded = headers['x-forwarded-for'];
    const list = Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '');
    const hops = list.split(',').slice(-MAX_HOPS).map(normalise).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!this.isTrusted(hop)) return this.hashOf('forwarded', hop);
    }
    // Every hop is a trusted proxy: the request started inside; the farthest one is the client.
    return this.hashOf('forwarded', hops[0] ?? peer);
  }
}

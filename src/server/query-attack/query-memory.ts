import type { Fingerprint } from './query-fingerprint.js';
import { QueryHistory } from './query-history.js';

/**
 * Fraction of a client's queries in the window that must be near duplicates, besides the
 * threshold count. A busy clean client collects the odd chance match over thousands of
 * images; an attack is near duplicates almost throughout. Interleaving three distinct
 * images per probe evades it, at four times the attack's cost (docs/query-attacks.md).
 */
export const SUSPECT_FRACTION = 0.25;

/** Looked at, oldest first, before an unsuspected client is found to evict. */
const EVICTION_SCAN = 8;

export interface MemorySettings {
  readonly threshold: number;
  readonly windowSeconds: number;
  readonly history: number;
  readonly maxClients: number;
  readonly now?: () => number;
}

/** The state of one client after its request's images were recorded. */
export interface QueryVerdict {
  readonly suspected: boolean;
  /** This request made the client suspected. */
  readonly newlySuspected: boolean;
  /** Images of this request that matched an earlier query of the client. */
  readonly matched: number;
  readonly queries: number;
  readonly nearDuplicates: number;
  /** Seconds until the client stops being suspected if it sends nothing more; 0 when not suspected. */
  readonly retryAfterSeconds: number;
  /** The client's query count when it was first suspected; 0 if never. */
  readonly suspectedAfter: number;
}

/**
 * Per-client memory of recent query fingerprints, for a bounded number of clients: the least
 * recently seen client is forgotten first, but a suspected one only when the oldest few all
 * are, so that an attacker cannot wash its own record out by sending from many new keys.
 */
export class QueryMemory {
  private readonly clients = new Map<string, QueryHistory>();
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(private readonly settings: MemorySettings) {
    this.now = settings.now ?? (() => Date.now());
    this.windowMs = settings.windowSeconds * 1000;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Bytes of fingerprint state held for all clients. */
  get bytes(): number {
    let total = 0;
    for (const history of this.clients.values()) total += history.bytes;
    return total;
  }

  /** Clients suspected now (read at scrape time: O(clients)). */
  suspectedCount(): number {
    const now = this.now();
    let n = 0;
    for (const history of this.clients.values()) if (history.suspectedUntil > now) n++;
    return n;
  }

  /** Seconds the client stays suspected if it sends nothing more; 0 when it is not. Does not touch the LRU order. */
  suspicion(key: string): number {
    const until = this.clients.get(key)?.suspectedUntil ?? 0;
    const left = until - this.now();
    return left > 0 ? Math.max(1, Math.ceil(left / 1000)) : 0;
  }

  /** The client's history, for tests and the benchmark. */
  peek(key: string): QueryHistory | undefined {
    return this.clients.get(key);
  }

  /** Records one request's images for the client and judges it. */
  record(key: string, prints: readonly Fingerprint[]): QueryVerdict {
    const history = this.touch(key);
    const now = this.now();
    const since = now - this.windowMs;
    const wasSuspected = history.suspectedUntil > now;
    let matched = 0;
    for (const print of prints) if (history.record(print, now, since) === true) matched++;
    const { queries, nearDuplicates } = history.counts(since);
    const { threshold } = this.settings;
    const suspected = nearDuplicates >= threshold && nearDuplicates >= SUSPECT_FRACTION * queries;
    history.suspectedUntil = suspected ? history.nearDuplicateTime(since, threshold) + this.windowMs : 0;
    if (suspected && history.suspectedAfter === 0) history.suspectedAfter = history.total;
    return {
      suspected,
      newlySuspected: suspected && !wasSuspected,
      matched,
      queries,
      nearDuplicates,
      retryAfterSeconds: suspected ? Math.max(1, Math.ceil((history.suspectedUntil - now) / 1000)) : 0,
      suspectedAfter: history.suspectedAfter,
    };
  }

  private touch(key: string): QueryHistory {
    const found = this.clients.get(key);
    if (found) {
      // Map order is insertion order: re-inserting makes it the most recently seen.
      this.clients.delete(key);
      this.clients.set(key, found);
      return found;
    }
    if (this.clients.size >= this.settings.maxClients) this.evict();
    const history = new QueryHistory(this.settings.history);
    this.clients.set(key, history);
    return history;
  }

  private evict(): void {
    const now = this.now();
    let oldest: string | undefined;
    let scanned = 0;
    for (const [key, history] of this.clients) {
      oldest ??= key;
      if (history.suspectedUntil <= now) {
        this.clients.delete(key);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (oldest !== undefined) this.clients.delete(oldest);
  }
}

import type { Fingerprint } from './query-fingerprint.js';
import { RecentPrints } from './recent-prints.js';

export interface CrossKeySettings {
  /** Distinct near-duplicate images within the window that make a cluster suspected. */
  readonly threshold: number;
  /** Distinct client keys they must come from. */
  readonly minClients: number;
  readonly windowSeconds: number;
  /** Images remembered from all clients together. */
  readonly memory: number;
  readonly now?: () => number;
}

/** A group of near-duplicate images, whoever sent them. */
export interface ClusterState {
  /** Local to the process: the sequence number of its first image. */
  readonly id: number;
  /** Its distinct images in the window. */
  readonly images: number;
  /** The client key hashes they came from, most images first (at most `MAX_NAMED`). */
  readonly clients: readonly string[];
  readonly clientCount: number;
}

/** What one request's images did to the clusters. */
export interface CrossKeyVerdict {
  /** Images of the request that joined a suspected cluster. */
  readonly matched: number;
  /** Clusters this request made suspected. */
  readonly newlySuspected: readonly ClusterState[];
}

/** Key hashes a cluster's state names; the count says how many there are. */
export const MAX_NAMED = 20;

interface Cluster {
  readonly id: number;
  images: number;
  readonly keys: Map<string, number>;
  suspected: boolean;
}

/**
 * Near-duplicate detection across client keys: a score-based attack spread over many keys
 * (a new key per query) sends each key one image, so no per-client record grows, but its
 * images are still hundreds of slight variants of the same few images. Every image from
 * every client goes into one bounded store (RecentPrints); an image joins the cluster of
 * the near duplicates it finds there (the largest, if several), or starts its own. A cluster
 * is suspected when, within the window, it holds at least `threshold` distinct images from
 * at least `minClients` keys. Exact repeats are never recorded: a popular image that many
 * honest clients send unchanged adds nothing, while every probe of an attack is new.
 */
export class CrossKeyMemory {
  private readonly prints: RecentPrints;
  private readonly clusterOf: Float64Array;
  private readonly keyOf: (string | undefined)[];
  private readonly clusters = new Map<number, Cluster>();
  private readonly now: () => number;
  private readonly windowMs: number;
  /** Entries from here on are counted in their clusters. */
  private counted = 0;
  private suspected = 0;

  constructor(private readonly settings: CrossKeySettings) {
    this.prints = new RecentPrints(settings.memory);
    this.clusterOf = new Float64Array(settings.memory);
    this.keyOf = new Array<string | undefined>(settings.memory);
    this.now = settings.now ?? (() => Date.now());
    this.windowMs = settings.windowSeconds * 1000;
  }

  /** Bytes of fixed state (the store); the clusters' key maps add at most one entry per remembered image. */
  get bytes(): number {
    // keyOf: one reference (8 bytes) per slot; the key hash strings it points to are not counted.
    return this.prints.bytes + this.clusterOf.byteLength + this.keyOf.length * 8;
  }

  /** Clusters with at least one image in the window. */
  get clusterCount(): number {
    return this.clusters.size;
  }

  /** Clusters suspected now (their images age out as time passes, even with no traffic). */
  suspectedCount(): number {
    this.expire(this.now() - this.windowMs);
    return this.suspected;
  }

  /** The largest cluster now, for tests and the benchmark. */
  largest(): ClusterState | undefined {
    let best: Cluster | undefined;
    for (const c of this.clusters.values()) if (!best || c.images > best.images) best = c;
    return best && this.state(best);
  }

  /** Records one request's images, sent under the client key hash `key`. */
  record(key: string, prints: readonly Fingerprint[]): CrossKeyVerdict {
    const now = this.now();
    const since = now - this.windowMs;
    this.expire(since);
    let matched = 0;
    const newly: ClusterState[] = [];
    for (const print of prints) {
      const { near, repeat } = this.prints.lookup(print, since);
      if (repeat !== undefined) continue;
      let cluster: Cluster | undefined;
      for (const slot of near) {
        const found = this.clusters.get(this.clusterOf[slot]!);
        if (found && (!cluster || found.images > cluster.images)) cluster = found;
      }
      // The store is full: its oldest entry goes now, counted or not.
      if (this.prints.added >= this.settings.memory && this.counted === this.prints.oldest) this.retire();
      const slot = this.prints.nextSlot;
      const seq = this.prints.add(print, now);
      if (!cluster) {
        cluster = { id: seq, images: 0, keys: new Map(), suspected: false };
        this.clusters.set(seq, cluster);
      }
      this.clusterOf[slot] = cluster.id;
      this.keyOf[slot] = key;
      cluster.images++;
      cluster.keys.set(key, (cluster.keys.get(key) ?? 0) + 1);
      if (!cluster.suspected && this.isSuspect(cluster)) {
        cluster.suspected = true;
        this.suspected++;
        newly.push(this.state(cluster));
      }
      if (cluster.suspected) matched++;
    }
    return { matched, newlySuspected: newly };
  }

  private isSuspect(c: Cluster): boolean {
    return c.images >= this.settings.threshold && c.keys.size >= this.settings.minClients;
  }

  private state(c: Cluster): ClusterState {
    const clients = [...c.keys.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_NAMED).map(([k]) => k);
    return { id: c.id, images: c.images, clients, clientCount: c.keys.size };
  }

  /** Uncounts the entries older than `since`, oldest first. */
  private expire(since: number): void {
    while (this.counted < this.prints.added && this.prints.timeOf(this.counted) < since) this.retire();
  }

  /** Uncounts the oldest counted entry. */
  private retire(): void {
    const slot = this.prints.slotOf(this.counted++);
    const cluster = this.clusters.get(this.clusterOf[slot]!);
    const key = this.keyOf[slot];
    this.keyOf[slot] = undefined;
    if (!cluster || key === undefined) return;
    cluster.images--;
    const left = (cluster.keys.get(key) ?? 1) - 1;
    if (left > 0) cluster.keys.set(key, left);
    else cluster.keys.delete(key);
    if (cluster.suspected && !this.isSuspect(cluster)) {
      cluster.suspected = false;
      this.suspected--;
    }
    if (cluster.images === 0) this.clusters.delete(cluster.id);
  }
}

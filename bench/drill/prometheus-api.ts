/** The parts of Prometheus' HTTP API (v1) the alerting drill and its end-to-end test read. */

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a range query: [unix seconds, value] pairs. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export class PrometheusApi {
  /** `timeoutMs`: a loaded machine can take seconds to answer a range query. */
  constructor(
    readonly base: string,
    private readonly timeoutMs = 15_000,
  ) {}

  private async get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? response.status}`);
    return body.data;
  }

  async ready(): Promise<boolean> {
    const response = await fetch(`${this.base}/-/ready`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  }

  /** Pending and firing alerts (resolved ones are no longer listed). */
  async alerts(): Promise<ActiveAlert[]> {
    return (await this.get<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts;
  }

  async query(expr: string): Promise<Sample[]> {
    const data = await this.get<{ resultType: string; result: Sample[] | [number, string] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as Sample[];
  }

  /** `expr` from `start` to `end` (unix seconds) every `step` seconds. */
  async queryRange(expr: string, start: number, end: number, step: number): Promise<RangeSeries[]> {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    return (await this.get<{ result: RangeSeries[] }>(`/api/v1/query_range?${params.toString()}`)).result;
  }

  async targetsHealth(): Promise<string[]> {
    const data = await this.get<{ activeTargets: { health: string }[] }>('/api/v1/targets');
    return data.activeTargets.map((t) => t.health);
  }

  async ruleHealth(): Promise<{ name: string; health: string; lastError?: string }[]> {
    const data = await this.get<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
    return data.groups.flatMap((g) => g.rules);
  }
}

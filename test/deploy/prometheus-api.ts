/** The parts of Prometheus' HTTP API (v1) the end-to-end test reads. */

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

export class PrometheusApi {
  constructor(readonly base: string) {}

  private async get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(5000) });
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

  async targetsHealth(): Promise<string[]> {
    const data = await this.get<{ activeTargets: { health: string }[] }>('/api/v1/targets');
    return data.activeTargets.map((t) => t.health);
  }

  async ruleHealth(): Promise<{ name: string; health: string; lastError?: string }[]> {
    const data = await this.get<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
    return data.groups.flatMap((g) => g.rules);
  }
}

import { Registry } from 'prom-client';
import { ServiceMetrics } from '../../src/server/telemetry/metrics.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Every metric the service registers, by name, read from the service's own metrics class. */
export async function serviceMetricTypes(): Promise<Map<string, MetricType>> {
  const registry = new Registry();
  new ServiceMetrics(registry, 300);
  const metrics = await registry.getMetricsAsJSON();
  return new Map(metrics.map((m) => [m.name, String(m.type) as MetricType]));
}

/** The series names a metric exposes in the text format (histograms add _bucket, _sum, _count). */
export function seriesNames(types: ReadonlyMap<string, MetricType>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of types) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** Metric names (awnet_*, kube_*, up) a PromQL expression reads. */
export function metricsIn(expr: string): Set<string> {
  // Strip label matchers, strings and recording-rule names (level:metric:operation) so
  // that neither label values nor recorded series are taken for exported metrics.
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/"[^"]*"/g, '')
    .replace(/[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*/g, '');
  return new Set([...bare.matchAll(/\b(awnet_[a-z0-9_]+|kube_[a-z0-9_]+|up)\b/g)].map((m) => m[1] as string));
}

import { readFile } from 'node:fs/promises';
import { repoPath } from '../../bench/drill/repo.js';

export interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
  annotations: { list: { expr?: string }[] };
}

export const DASHBOARD_FILE = repoPath('monitoring', 'grafana-dashboard.json');

export const readDashboard = async (): Promise<Dashboard> => JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as Dashboard;

export interface Query {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export const queries = (d: Dashboard): Query[] =>
  d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/** A dashboard query as Prometheus itself would run it: Grafana's variables filled in. */
export function concrete(expr: string, rateInterval = '1m'): string {
  return expr
    .replace(/\$__rate_interval/g, rateInterval)
    .replace(/\$namespace/g, '.*')
    .replace(/\$model/g, '.*');
}

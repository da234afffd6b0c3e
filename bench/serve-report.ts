export interface LoadResult {
  readonly connections: number;
  readonly imagesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface Goal {
  readonly goal: string;
  readonly target: number;
  readonly reached: number;
  readonly met: boolean;
}

export interface ServeReport {
  readonly started: string;
  readonly machine: { cpus: number; cpuModel: string; node: string; loadAverageBefore: number[]; loadAverageAfter: number[] };
  readonly model: { file: string; name: string; version: string };
  readonly settings: Record<string, unknown>;
  /** images/s of onnxruntime alone in a worker, by batch size. */
  readonly modelCeiling: Record<string, number>;
  readonly httpCeiling: readonly LoadResult[];
  readonly service: readonly LoadResult[];
  readonly naive: readonly LoadResult[];
  /** Every round's own figures; the fields above are their medians. */
  readonly rounds: readonly { modelCeiling: Record<string, number>; httpCeiling: readonly LoadResult[]; service: readonly LoadResult[]; naive: readonly LoadResult[] }[];
  readonly goals: readonly Goal[];
}

const f0 = (n: number) => n.toFixed(0);
const load = (n: number[]) => n.map((v) => v.toFixed(2)).join(' / ');

function rows(name: string, results: readonly LoadResult[]): string[] {
  return results.map((r) => `| ${name} | ${r.connections} | ${f0(r.imagesPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.errors} |`);
}

/** The markdown summary written beside serve.json. */
export function renderSummary(r: ServeReport): string {
  return [
    '# Service benchmark',
    '',
    `Run ${r.started} on ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}; load average (1/5/15 min) ${load(r.machine.loadAverageBefore)} before, ${load(r.machine.loadAverageAfter)} after.`,
    `Model \`${r.model.file}\` (${r.model.name} ${r.model.version}). Settings: ${Object.entries(r.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}.`,
    `The load generator (autocannon) runs on the same machine as the server. Figures are medians over ${r.rounds.length} rounds (each round measures every design; serve.json has every round).`,
    '',
    '## (1) Model ceiling: onnxruntime alone in a worker thread',
    '',
    '| batch | images/s |',
    '| --- | --- |',
    ...Object.entries(r.modelCeiling).map(([k, v]) => `| ${k.replace('batch', '')} | ${f0(v)} |`),
    '',
    '## (2)–(4) Over HTTP: the HTTP ceiling (inference skipped), the service, the naive design',
    '',
    '| server | concurrency | images/s | p50 ms | p99 ms | non-2xx | errors |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows('HTTP ceiling', r.httpCeiling),
    ...rows('service', r.service),
    ...rows('naive', r.naive),
    '',
    '## Goals',
    '',
    '| goal | target | reached | met |',
    '| --- | --- | --- | --- |',
    ...r.goals.map((g) => `| ${g.goal} | ${f0(g.target)} | ${f0(g.reached)} | ${g.met ? 'yes' : 'no'} |`),
    '',
  ].join('\n');
}

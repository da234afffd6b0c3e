import type { EvaluationReport, ModelReport } from './report.js';
import { groupedTable, pct, type Column } from './table-layout.js';

const seconds = (s: number): string => (s >= 100 ? s.toFixed(0) : s.toFixed(1));

/**
 * One table per attack with parts (AutoAttack's cascade, a Square Attack): per part the
 * robust accuracy after it, the images it ran on, its seconds and, for a query attack, the
 * queries per attacked image. Empty when no attack has parts.
 */
export function renderPartsTables(report: EvaluationReport): string[] {
  const models = report.models;
  const first = models[0];
  if (first === undefined) return [];
  const tables: string[] = [];
  first.attacks.forEach((attack, a) => {
    const parts = attack.parts ?? [];
    if (parts.length === 0) return;
    const cell = (m: ModelReport, p: number): NonNullable<ModelReport['attacks'][number]['parts']>[number] | undefined => m.attacks[a]?.parts?.[p];
    const groups = parts.map((part, p) => {
      const columns: Column[] = [
        { heading: 'Acc', cells: models.map((m) => pct(cell(m, p)?.accuracy ?? NaN)) },
        { heading: 'Images', cells: models.map((m) => String(cell(m, p)?.attacked ?? '')) },
        { heading: 'Seconds', cells: models.map((m) => seconds(cell(m, p)?.seconds ?? NaN)) },
      ];
      if (part.queries !== null) {
        columns.push({
          heading: 'Queries/img',
          cells: models.map((m) => {
            const c = cell(m, p);
            return c?.queries == null || c.attacked === 0 ? '—' : (c.queries / c.attacked).toFixed(0);
          }),
        });
      }
      return { label: part.label, columns };
    });
    const lead = [{ heading: 'Model', cells: models.map((m) => m.name) }];
    const heading =
      parts.length > 1
        ? `${attack.label}: robust accuracy after each part (each runs only on the images still robust), images it ran on, seconds:`
        : `${attack.label}: accuracy, images attacked, seconds and queries:`;
    tables.push([heading, groupedTable(lead, groups)].join('\n'));
  });
  return tables;
}

import { renderPartsTables } from './parts-table.js';
import type { EvaluationReport, ModelReport, ThresholdReport } from './report.js';
import { groupedTable, pct, render, type Column } from './table-layout.js';

const auc = (v: number | null): string => (v === null ? '—' : v.toFixed(4));

const col = (heading: string, models: readonly ModelReport[], cell: (m: ModelReport) => string): Column => ({
  heading,
  cells: models.map(cell),
});

const nameColumn = (models: readonly ModelReport[]): Column => col('Model', models, (m) => m.name);

/** Attacks the worst case spans, by their labels. */
function worstCaseLabel(report: EvaluationReport): string | null {
  const first = report.models[0];
  if (first?.worstCase == null) return null;
  const spanned = first.worstCase.attacks.map((id) => first.attacks.find((a) => a.id === id)?.label ?? id);
  return `Worst case of ${spanned.join(', ')}`;
}

/**
 * Models as rows; the clean accuracy; then one group per attack holding A_adv and
 * W-Robust Acc, its heading spanning both columns; last the per-image worst case.
 */
function renderAttackTable(report: EvaluationReport): string {
  const models = report.models;
  const attacks = models[0]?.attacks ?? [];
  const groups = attacks.map((a, i) => ({
    label: a.label,
    columns: [col('A_adv', models, (m) => pct(m.attacks[i]?.accuracy ?? NaN)), col('W-Rob', models, (m) => pct(m.attacks[i]?.wRobust ?? NaN))],
  }));
  if (models[0]?.worstCase != null) {
    groups.push({
      label: 'Worst case',
      columns: [col('A_adv', models, (m) => pct(m.worstCase?.accuracy ?? NaN)), col('W-Rob', models, (m) => pct(m.worstCase?.wRobust ?? NaN))],
    });
  }
  return groupedTable([nameColumn(models), col('Clean', models, (m) => pct(m.attackedCleanAccuracy))], groups);
}

function thresholdSource(t: ThresholdReport): string {
  switch (t.source) {
    case 'calibrated':
      return `calibrated: FPR ${t.targetFpr} on ${t.calibrationImages} clean ${t.calibrationDataset} validation images (observed ${pct(t.observedFpr ?? NaN)} %)`;
    case 'exported-model':
      return `from ${t.file}: FPR ${t.targetFpr} on ${t.calibrationImages} clean images`;
    case 'given':
      return 'given';
    case 'no-router':
      return 'no router: nothing is flagged';
  }
}

/** What the service would see: flag rates and the attacked images that get through unflagged. */
function renderProductionTable(report: EvaluationReport): string {
  const models = report.models;
  const attacks = models[0]?.attacks ?? [];
  const groups = attacks.map((a, i) => ({
    label: a.label,
    columns: [col('Flag', models, (m) => pct(m.attacks[i]?.flagRate ?? NaN)), col('Through', models, (m) => pct(m.attacks[i]?.getsThrough ?? NaN))],
  }));
  if (models[0]?.worstCase != null) {
    groups.push({ label: 'Worst case', columns: [col('Through', models, (m) => pct(m.worstCase?.getsThrough ?? NaN))] });
  }
  const rows = [['Threshold', 'score >', 'from'], ...models.map((m) => [m.name, m.threshold.value.toPrecision(4), thresholdSource(m.threshold)])];
  const thresholds = render(rows.map((r) => r.slice(0, 2)), 1)
    .split('\n')
    .map((line, i) => `${line}  ${rows[i]?.[2] ?? ''}`)
    .join('\n');
  const lead = [nameColumn(models), col('Clean flag', models, (m) => pct(m.cleanFlagRate))];
  return [
    thresholds,
    '',
    `Flagged (score above the threshold) and gets through (misclassified, not flagged): clean on ${report.count} images, attacks on ${report.attackCount}:`,
    groupedTable(lead, groups),
  ].join('\n');
}

/** Accuracy and flag rate, clean and under each benign change, on every evaluated image. */
function renderBenignTable(report: EvaluationReport): string {
  const models = report.models;
  const settings = models[0]?.benign ?? [];
  const groups = [
    { label: 'Clean', columns: [col('Acc', models, (m) => pct(m.cleanAccuracy)), col('Flag', models, (m) => pct(m.cleanFlagRate))] },
    ...settings.map((s, i) => ({
      label: s.label,
      columns: [col('Acc', models, (m) => pct(m.benign[i]?.accuracy ?? NaN)), col('Flag', models, (m) => pct(m.benign[i]?.flagRate ?? NaN))],
    })),
  ];
  return [`Benign changes, ${report.count} images:`, groupedTable([nameColumn(models)], groups)].join('\n');
}

/**
 * The evaluation in the layout of the AW-Net paper's Table I: one row per model, the
 * clean accuracy, then for each attack A_adv and W-Robust Acc, and the worst case over the
 * attacks; then the router's ROC-AUC per attack; what the service would flag and let
 * through at each model's threshold; the benign changes; the robustness curve. Figures are
 * percentages except AUC and thresholds.
 */
export function formatTable(report: EvaluationReport): string {
  const attacks = report.models[0]?.attacks ?? [];
  const aucRows = [['Router ROC-AUC', ...attacks.map((a) => a.label)]];
  for (const m of report.models) aucRows.push([m.name, ...m.attacks.map((a) => auc(a.auc))]);
  const subset = report.attackCount < report.count ? ` (attacks on the first ${report.attackCount})` : '';
  const lines = [
    `${report.dataset} ${report.split}, ${report.count} images${subset}, L∞ eps ${report.eps}, seed ${report.seed}, backend ${report.backend}`,
  ];
  const worst = worstCaseLabel(report);
  if (attacks.length > 0) {
    lines.push('', renderAttackTable(report));
    if (worst !== null) lines.push(`${worst}: an image counts as robust only if every one of these attacks fails on it.`);
    lines.push('', render(aucRows, 1));
    for (const table of renderPartsTables(report)) lines.push('', table);
  }
  lines.push('', renderProductionTable(report));
  if ((report.models[0]?.benign.length ?? 0) > 0) lines.push('', renderBenignTable(report));
  const curves = report.models.filter((m) => m.curve.length > 0);
  if (curves.length > 0) {
    const eps = curves[0]?.curve.map((p) => p.eps) ?? [];
    const curveRows = [[`Accuracy vs eps (${report.curveAttack ?? 'clean only'})`, ...eps.map((e) => String(e))]];
    for (const m of curves) curveRows.push([m.name, ...m.curve.map((p) => pct(p.accuracy))]);
    lines.push('', render(curveRows, 1));
  }
  return lines.join('\n') + '\n';
}

import type { EvaluationReport } from './report.js';

const pct = (v: number): string => (Number.isFinite(v) ? (v * 100).toFixed(2) : 'n/a');
const auc = (v: number | null): string => (v === null ? '—' : v.toFixed(4));

function pad(text: string, width: number, right = false): string {
  const fill = ' '.repeat(Math.max(0, width - [...text].length));
  return right ? fill + text : text + fill;
}

function render(rows: string[][], rightFrom: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) => row.map((cell, i) => pad(cell, widths[i] ?? 0, i >= rightFrom)).join('  ').trimEnd())
    .join('\n');
}

const len = (text: string): number => [...text].length;

/**
 * Models as rows; the clean accuracy; then one group per attack holding A_adv and
 * W-Robust Acc, its heading spanning both columns.
 */
function renderAttackTable(report: EvaluationReport): string {
  const attacks = report.models[0]?.attacks ?? [];
  const names = ['Model', ...report.models.map((m) => m.name)];
  const nameW = Math.max(...names.map(len));
  const cleanW = Math.max(len('Clean'), ...report.models.map((m) => len(pct(m.cleanAccuracy))));
  const groups = attacks.map((a, i) => {
    const adv = report.models.map((m) => pct(m.attacks[i]?.accuracy ?? NaN));
    const rob = report.models.map((m) => pct(m.attacks[i]?.wRobust ?? NaN));
    const w1 = Math.max(len('A_adv'), ...adv.map(len));
    let w2 = Math.max(len('W-Rob'), ...rob.map(len));
    w2 = Math.max(w2, len(a.label) - w1 - 2);
    return { label: a.label, adv, rob, w1, w2 };
  });
  const sep = ' | ';
  const line1 = [pad('', nameW), pad('', cleanW), ...groups.map((g) => pad(g.label, g.w1 + 2 + g.w2))];
  const line2 = [pad('Model', nameW), pad('Clean', cleanW, true), ...groups.map((g) => `${pad('A_adv', g.w1, true)}  ${pad('W-Rob', g.w2, true)}`)];
  const rows = report.models.map((m, r) => [
    pad(m.name, nameW),
    pad(pct(m.cleanAccuracy), cleanW, true),
    ...groups.map((g) => `${pad(g.adv[r] ?? '', g.w1, true)}  ${pad(g.rob[r] ?? '', g.w2, true)}`),
  ]);
  const join = (cells: string[]): string => `${cells[0] ?? ''}  ${cells[1] ?? ''}${sep}${cells.slice(2).join(sep)}`.trimEnd();
  return [line1, line2, ...rows].map(join).join('\n');
}

/**
 * The evaluation in the layout of the AW-Net paper's Table I: one row per model, the
 * clean accuracy, then for each attack A_adv and W-Robust Acc; a second block gives the
 * router's ROC-AUC per attack, a third the robustness curve. Figures are percentages
 * except AUC.
 */
export function formatTable(report: EvaluationReport): string {
  const attacks = report.models[0]?.attacks ?? [];
  const aucRows = [['Router ROC-AUC', ...attacks.map((a) => a.label)]];
  for (const m of report.models) aucRows.push([m.name, ...m.attacks.map((a) => auc(a.auc))]);

  const lines = [
    `${report.dataset} ${report.split}, ${report.count} images, L∞ eps ${report.eps}, seed ${report.seed}, backend ${report.backend}`,
    '',
    renderAttackTable(report),
    '',
    render(aucRows, 1),
  ];
  const curves = report.models.filter((m) => m.curve.length > 0);
  if (curves.length > 0) {
    const eps = curves[0]?.curve.map((p) => p.eps) ?? [];
    const curveRows = [[`Accuracy vs eps (${report.curveAttack ?? 'clean only'})`, ...eps.map((e) => String(e))]];
    for (const m of curves) curveRows.push([m.name, ...m.curve.map((p) => pct(p.accuracy))]);
    lines.push('', render(curveRows, 1));
  }
  return lines.join('\n') + '\n';
}

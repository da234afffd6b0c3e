/** Plain-text table layout: columns padded to their widest cell, headings spanning column groups. */

export const len = (text: string): number => [...text].length;

export const pct = (v: number): string => (Number.isFinite(v) ? (v * 100).toFixed(2) : 'n/a');

export function pad(text: string, width: number, right = false): string {
  const fill = ' '.repeat(Math.max(0, width - len(text)));
  return right ? fill + text : text + fill;
}

/** Rows of cells; columns from `rightFrom` on are right-aligned. */
export function render(rows: string[][], rightFrom: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, len(cell))));
  return rows
    .map((row) => row.map((cell, i) => pad(cell, widths[i] ?? 0, i >= rightFrom)).join('  ').trimEnd())
    .join('\n');
}

export interface Column {
  readonly heading: string;
  /** One cell per row. */
  readonly cells: readonly string[];
}

export interface Group {
  /** Spans the group's columns on the line above their headings. */
  readonly label: string;
  readonly columns: readonly Column[];
}

const widthOf = (c: Column): number => Math.max(len(c.heading), ...c.cells.map(len));

/**
 * Lead columns (the first left-aligned, the rest right-aligned), then groups of right-aligned
 * columns separated by " | ", each group's label on a line above its columns.
 */
export function groupedTable(lead: readonly Column[], groups: readonly Group[]): string {
  const rows = lead[0]?.cells.length ?? 0;
  const leadW = lead.map(widthOf);
  const sized = groups.map((g) => {
    const widths = g.columns.map(widthOf);
    const inner = widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
    // A label wider than its columns widens the last of them.
    if (widths.length > 0) widths[widths.length - 1] = (widths.at(-1) ?? 0) + Math.max(0, len(g.label) - inner);
    return { g, widths, total: Math.max(inner, len(g.label)) };
  });
  const leadCells = (cell: (c: Column, i: number) => string): string => lead.map((c, i) => pad(cell(c, i), leadW[i] ?? 0, i > 0)).join('  ');
  const groupCells = (cell: (c: Column) => string): string[] =>
    sized.map(({ g, widths }) => g.columns.map((c, k) => pad(cell(c), widths[k] ?? 0, true)).join('  '));
  const join = (head: string, rest: readonly string[]): string => (rest.length > 0 ? `${head} | ${rest.join(' | ')}` : head).trimEnd();
  const lines = [
    join(leadCells(() => ''), sized.map(({ g, total }) => pad(g.label, total))),
    join(leadCells((c) => c.heading), groupCells((c) => c.heading)),
  ];
  for (let r = 0; r < rows; r++) lines.push(join(leadCells((c) => c.cells[r] ?? ''), groupCells((c) => c.cells[r] ?? '')));
  return lines.join('\n');
}

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EvalError } from './errors.js';
import { svgToPng } from './render-png.js';
import { renderCurveSvg, type CurveOptions, type CurveSeries } from './robustness-curve.js';

/**
 * Writes a file through a temporary sibling and a rename, so a reader never sees half a
 * report and a failed run never leaves one behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new EvalError('EVAL_OUTPUT_UNWRITABLE', `cannot write ${path}: ${reason}`);
  }
}

/** Writes the robustness curve as SVG and as PNG (the SVG rendered by resvg). */
export async function writeCurveFiles(
  series: readonly CurveSeries[],
  paths: { readonly svg: string; readonly png: string },
  options: CurveOptions = {},
): Promise<void> {
  const svg = renderCurveSvg(series, options);
  await writeFileAtomic(paths.svg, svg);
  await writeFileAtomic(paths.png, svgToPng(svg));
}

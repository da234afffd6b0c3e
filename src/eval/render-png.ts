import { Resvg } from '@resvg/resvg-js';

/**
 * Rasterises an SVG document to PNG with resvg (a Rust renderer, no browser needed).
 * Text uses the system's fonts; on a machine without any, lines and markers still render.
 */
export function svgToPng(svg: string, options: { scale?: number } = {}): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

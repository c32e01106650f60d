// A confusion-matrix heat map as a standalone SVG: one square per (true, predicted) pair, shaded
// by the share of the true label's examples that went there (so rare and common labels read
// alike: the diagonal is each label's recall), with the count written in the square. Rows are
// true labels, columns predicted labels, as scikit-learn's ConfusionMatrixDisplay draws them.
import { rnnlmError } from '../errors.js';
import { escapeXml } from './svg_chart.js';

export interface HeatmapOptions {
  /** Heading above the matrix, and the SVG <title>. */
  title?: string;
  /** Side of one square in pixels (default: 34, smaller for many labels). */
  cellSize?: number;
}

// Light to dark blue; white text goes on the darker half.
const LOW = [247, 251, 255];
const HIGH = [8, 48, 107];

function shade(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const c = LOW.map((lo, i) => Math.round(lo + (HIGH[i]! - lo) * f));
  return `rgb(${c.join(',')})`;
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** The SVG document of a confusion matrix (matrix[t][p]: true t predicted as p). */
export function renderConfusionHeatmap(matrix: readonly (readonly number[])[], labels: readonly string[], options: HeatmapOptions = {}): string {
  const n = labels.length;
  if (n === 0) throw rnnlmError('ERR_RNNLM_ARGUMENT', 'renderConfusionHeatmap: no labels');
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw rnnlmError('ERR_RNNLM_SHAPE', `renderConfusionHeatmap: the matrix must be ${n} x ${n}`);
  }
  const cell = options.cellSize ?? (n <= 12 ? 40 : n <= 24 ? 34 : 22);
  const longest = Math.max(...labels.map((l) => [...l].length));
  // Label text is about 7 px a character at font size 12.
  const labelSpace = Math.min(180, 16 + 7 * longest);
  const header = options.title !== undefined ? 30 : 8;
  const left = labelSpace + 24;
  const top = header + labelSpace + 8;
  const width = Math.max(left + n * cell + 24, left + 300);
  const legendTop = top + n * cell + 40;
  const height = legendTop + 56;
  const maxCount = Math.max(1, ...matrix.flat());
  const countFont = Math.max(8, Math.min(12, cell / (String(maxCount).length * 0.62)));

  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  ];
  if (options.title !== undefined) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title !== undefined) {
    out.push(`<text x="${num(width / 2)}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  }
  // Axis titles.
  out.push(`<text x="${num(left + (n * cell) / 2)}" y="${num(header + 12)}" text-anchor="middle" font-weight="bold">predicted label</text>`);
  const cy = num(top + (n * cell) / 2);
  out.push(`<text x="14" y="${cy}" text-anchor="middle" font-weight="bold" transform="rotate(-90 14 ${cy})">true label</text>`);

  out.push('<g class="row-labels" text-anchor="end">');
  labels.forEach((l, t) => out.push(`<text x="${num(left - 6)}" y="${num(top + t * cell + cell / 2 + 4)}">${escapeXml(l)}</text>`));
  out.push('</g>');
  out.push('<g class="column-labels" text-anchor="start">');
  labels.forEach((l, p) => {
    const x = num(left + p * cell + cell / 2 + 4);
    const y = num(top - 6);
    out.push(`<text x="${x}" y="${y}" transform="rotate(-90 ${x} ${y})">${escapeXml(l)}</text>`);
  });
  out.push('</g>');

  out.push('<g class="cells">');
  matrix.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const fraction = total > 0 ? count / total : 0;
      const x = left + p * cell;
      const y = top + t * cell;
      const share = total > 0 ? ` (${(fraction * 100).toFixed(1)}% of ${total})` : '';
      out.push(
        `<rect x="${num(x)}" y="${num(y)}" width="${cell}" height="${cell}" fill="${shade(fraction)}" stroke="#d0d0d0" stroke-width="0.5">` +
          `<title>${escapeXml(`true ${labels[t]!}, predicted ${labels[p]!}: ${count}${share}`)}</title></rect>`,
      );
      if (count > 0) {
        out.push(
          `<text x="${num(x + cell / 2)}" y="${num(y + cell / 2 + countFont / 3)}" text-anchor="middle" font-size="${num(countFont)}" fill="${fraction > 0.5 ? '#ffffff' : '#222222'}">${count}</text>`,
        );
      }
    });
  });
  out.push('</g>');
  // The diagonal framed, so correct predictions are found at a glance.
  out.push(`<rect x="${left}" y="${top}" width="${n * cell}" height="${n * cell}" fill="none" stroke="#333" stroke-width="1"/>`);

  // Colour scale.
  const barWidth = Math.min(240, n * cell);
  out.push('<defs><linearGradient id="heat-scale"><stop offset="0" stop-color="' + shade(0) + '"/><stop offset="1" stop-color="' + shade(1) + '"/></linearGradient></defs>');
  out.push(`<g class="legend" transform="translate(${left},${legendTop})">`);
  out.push(`<rect width="${barWidth}" height="12" fill="url(#heat-scale)" stroke="#999" stroke-width="0.5"/>`);
  out.push(`<text x="0" y="28">0%</text>`);
  out.push(`<text x="${barWidth}" y="28" text-anchor="end">100%</text>`);
  out.push(`<text x="0" y="44">shade: share of the true label's examples</text>`);
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The notebooks the specs upload: nbformat 4.5 JSON for a Python 3 kernel.
 */

/** A cell's source: one string, or its lines (each ending in a newline but the last). */
type Source = string | string[];

function codeCell(source: Source, tags?: string[]): object {
  return {
    cell_type: 'code',
    execution_count: null,
    metadata: tags ? { tags } : {},
    outputs: [],
    source: typeof source === 'string' ? [source] : source
  };
}

/**
 * A notebook as the text the contents API stores: a cell tagged `parameters`
 * (none when `parameters` is null), then one code cell per entry of `cells`.
 */
export function notebook(parameters: Source | null, ...cells: Source[]): string {
  return JSON.stringify({
    cells: [
      ...(parameters === null ? [] : [codeCell(parameters, ['parameters'])]),
      ...cells.map(source => codeCell(source))
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

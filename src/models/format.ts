/**
 * Pure logic of the Models views: metrics typed as `k=v`, model names.
 */

export interface IParsedMetrics {
  values: Record<string, number>;
  error: string | null;
}

/**
 * `accuracy=0.93, loss=0.2` (commas or new lines) → numbers by name.
 */
export function parseMetrics(text: string): IParsedMetrics {
  const values: Record<string, number> = {};
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (!item) {
      continue;
    }
    const match = /^([A-Za-z_][\w.-]*)\s*=\s*(\S+)$/.exec(item);
    if (!match) {
      return { values, error: `“${item}” is not name=number` };
    }
    const value = Number(match[2]);
    if (!Number.isFinite(value)) {
      return { values, error: `${match[1]}: “${match[2]}” is not a number` };
    }
    values[match[1]] = value;
  }
  return { values, error: null };
}

/**
 * `accuracy 0.93 · loss 0.2`, numbers rounded to 4 significant digits.
 */
export function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([name, value]) => `${name} ${Number(value.toPrecision(4))}`)
    .join(' · ');
}

/**
 * What is wrong with a model name (null when it is fine).
 */
export function modelNameError(name: string): string | null {
  if (!name.trim()) {
    return 'Give the model a name';
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name.trim())) {
    return 'Use letters, digits, “.”, “_” and “-” only';
  }
  return null;
}

/**
 * The folder of a path (`a/b/c.ipynb` → `a/b`; `c.ipynb` → ``).
 */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * A model name from a notebook path: its stem, with unsafe characters as `-`.
 */
export function nameFromPath(path: string): string {
  const stem = path.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
  return (
    stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model'
  );
}

/**
 * What else a stage change does, in words: staging and production hold one
 * version each, so the version there before is archived.
 */
export function stageConsequences(
  versions: readonly { version: number; stage: string }[],
  version: number,
  next: string
): string[] {
  if (next !== 'staging' && next !== 'production') {
    return [];
  }
  return versions
    .filter(v => v.version !== version && v.stage === next)
    .map(v => `v${v.version} leaves ${next} and is archived`);
}

/**
 * Pure logic of the storage drives: REST paths of a cluster's contents,
 * compact listings expanded into contents models, `hdfs://` URLs and the
 * code that reads a file from a notebook.
 */
import type { Contents } from '@jupyterlab/services';

/**
 * A folder entry of the compact listing:
 * `[name, type, size, last_modified, writable]`.
 */
export type CompactRow = [string, string, number | null, string, boolean];

/**
 * The API path (below `jupyter-mlplat/api/`) of `localPath` on `cluster`,
 * every segment URL-encoded; the cluster root has no trailing slash.
 */
export function contentsEndpoint(cluster: string, localPath: string): string {
  const parts = localPath.split('/').filter(part => part !== '');
  const base = `storage/${encodeURIComponent(cluster)}/contents`;
  return parts.length
    ? `${base}/${parts.map(encodeURIComponent).join('/')}`
    : base;
}

/**
 * A drive path without leading, trailing or doubled slashes.
 */
export function normalizeLocal(localPath: string): string {
  return localPath
    .split('/')
    .filter(part => part !== '' && part !== '.')
    .join('/');
}

/**
 * `dir/name`, or `name` at the root.
 */
export function childPath(dir: string, name: string): string {
  const parent = normalizeLocal(dir);
  return parent ? `${parent}/${name}` : name;
}

/**
 * Whether a folder's content came back compact (rows) rather than models.
 */
export function isCompact(content: unknown): content is CompactRow[] {
  return (
    Array.isArray(content) && content.length > 0 && Array.isArray(content[0])
  );
}

/**
 * Contents models (without content) of the rows of folder `dir`.
 */
export function expandRows(dir: string, rows: CompactRow[]): Contents.IModel[] {
  const parent = normalizeLocal(dir);
  const prefix = parent ? `${parent}/` : '';
  const models = new Array<Contents.IModel>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [name, type, size, modified, writable] = rows[i];
    models[i] = {
      name,
      path: prefix + name,
      type,
      writable,
      created: modified,
      last_modified: modified,
      size: type === 'directory' ? undefined : (size ?? undefined),
      mimetype: '',
      format: null,
      content: null
    };
  }
  return models;
}

const byName = new Intl.Collator(undefined, {
  numeric: true,
  sensitivity: 'base'
});

/**
 * The first `limit` entries in the file browser's default order (folders
 * and files mixed, natural name order); all of them when within the limit.
 */
export function firstByName<T extends { name: string }>(
  entries: T[],
  limit: number
): T[] {
  if (entries.length <= limit) {
    return entries;
  }
  return [...entries]
    .sort((a, b) => byName.compare(a.name, b.name))
    .slice(0, limit);
}

/**
 * The URL notebook code uses for `localPath` of a cluster whose root is
 * `clusterUrl` (`hdfs://prod-a/` or `hdfs://prod-a/base`).
 */
export function hdfsUrl(clusterUrl: string, localPath: string): string {
  const root = clusterUrl.replace(/\/+$/, '');
  const path = normalizeLocal(localPath);
  return path ? `${root}/${path}` : `${root}/`;
}

/**
 * The drive path (`cluster:path`, what the document manager opens through
 * the cluster's drive) of an `hdfs://cluster/...` URL, `clusterUrl` being
 * that cluster's root URL (`hdfs://prod-b/` or `hdfs://prod-b/base`); the
 * text unchanged when it is no hdfs:// URL (a path under the Jupyter root)
 * or lies outside the cluster's root.
 */
export function drivePath(
  url: string,
  clusterUrl?: (cluster: string) => string
): string {
  const match = /^hdfs:\/\/([^/]+)(\/.*)?$/.exec(url);
  if (!match) {
    return url;
  }
  const cluster = match[1];
  const root = (clusterUrl?.(cluster) ?? defaultClusterUrl(cluster)).replace(
    /\/+$/,
    ''
  );
  if (url !== root && !url.startsWith(`${root}/`)) {
    return url;
  }
  return `${cluster}:${normalizeLocal(url.slice(root.length))}`;
}

/**
 * The default root URL of a cluster when the server did not say.
 */
export function defaultClusterUrl(cluster: string): string {
  return `hdfs://${cluster}/`;
}

/**
 * A Python string literal of `text` (JSON's escapes are valid Python).
 */
export function pyString(text: string): string {
  return JSON.stringify(text);
}

const TEXT_EXTENSIONS = new Set([
  'txt',
  'md',
  'py',
  'yaml',
  'yml',
  'log',
  'sql',
  'xml',
  'html',
  'ini',
  'cfg',
  'toml',
  'sh'
]);

/**
 * The lower-case extension of a file name (`data.CSV.gz` → `gz`).
 */
export function extension(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/**
 * Python that reads the file at `url`: pandas for tables, fsspec otherwise.
 */
export function readCode(url: string): string {
  const literal = pyString(url);
  const pandas = (call: string) => `import pandas as pd\n\ndf = ${call}\ndf`;
  switch (extension(url)) {
    case 'csv':
      return pandas(`pd.read_csv(${literal})`);
    case 'tsv':
      return pandas(`pd.read_csv(${literal}, sep="\\t")`);
    case 'parquet':
    case 'pq':
      // storage_options (even empty) makes pandas use fsspec's hdfs:// (ours)
      // rather than pyarrow's, which needs libhdfs and a JVM in the kernel.
      return pandas(`pd.read_parquet(${literal}, storage_options={})`);
    case 'json':
      return pandas(`pd.read_json(${literal})`);
    case 'jsonl':
    case 'ndjson':
      return pandas(`pd.read_json(${literal}, lines=True)`);
  }
  const text = TEXT_EXTENSIONS.has(extension(url));
  return [
    'import fsspec',
    '',
    `with fsspec.open(${literal}, ${text ? '"r"' : '"rb"'}) as f:`,
    '    data = f.read()',
    text ? 'print(data[:1000])' : 'len(data)'
  ].join('\n');
}

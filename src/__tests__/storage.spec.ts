import {
  childPath,
  contentsEndpoint,
  drivePath,
  expandRows,
  extension,
  firstByName,
  hdfsUrl,
  isCompact,
  normalizeLocal,
  readCode
} from '../storage/paths';

describe('contentsEndpoint', () => {
  it('maps the cluster root without a trailing slash', () => {
    expect(contentsEndpoint('prod-a', '')).toBe('storage/prod-a/contents');
    expect(contentsEndpoint('prod-a', '/')).toBe('storage/prod-a/contents');
  });

  it('encodes every segment but keeps the slashes', () => {
    expect(contentsEndpoint('prod-b', 'data/raw 2024/x#1.csv')).toBe(
      'storage/prod-b/contents/data/raw%202024/x%231.csv'
    );
    expect(contentsEndpoint('prod b', '/a//b/')).toBe(
      'storage/prod%20b/contents/a/b'
    );
  });

  it('does not let "?" start a query', () => {
    expect(contentsEndpoint('c', 'what?.txt')).toBe(
      'storage/c/contents/what%3F.txt'
    );
  });
});

describe('paths of a drive', () => {
  it('normalizes slashes and dots', () => {
    expect(normalizeLocal('/a//b/./c/')).toBe('a/b/c');
    expect(normalizeLocal('')).toBe('');
  });

  it('joins a child at the root and below', () => {
    expect(childPath('', 'x.csv')).toBe('x.csv');
    expect(childPath('/data/', 'x.csv')).toBe('data/x.csv');
  });
});

describe('expandRows', () => {
  it('turns compact rows into contents models of the folder', () => {
    const models = expandRows('data', [
      ['x.csv', 'file', 12, '2024-05-01T10:00:00Z', true],
      ['nb.ipynb', 'notebook', 100, '2024-05-01T10:00:00Z', false],
      ['sub', 'directory', 0, '2024-05-02T10:00:00Z', true]
    ]);
    expect(models.map(m => m.path)).toEqual([
      'data/x.csv',
      'data/nb.ipynb',
      'data/sub'
    ]);
    expect(models[0]).toMatchObject({
      name: 'x.csv',
      type: 'file',
      size: 12,
      writable: true,
      last_modified: '2024-05-01T10:00:00Z',
      content: null
    });
    expect(models[1].writable).toBe(false);
    expect(models[2].size).toBeUndefined();
  });

  it('tells rows from models', () => {
    expect(isCompact([['a', 'file', 1, 't', true]])).toBe(true);
    expect(isCompact([{ name: 'a' }])).toBe(false);
    expect(isCompact([])).toBe(false);
    expect(isCompact(null)).toBe(false);
  });

  it('expands 10,000 rows quickly', () => {
    const rows = Array.from(
      { length: 10_000 },
      (_, i) =>
        [`f${i}`, 'file', i, '2024-01-01T00:00:00Z', true] as [
          string,
          string,
          number,
          string,
          boolean
        ]
    );
    const started = Date.now();
    const models = expandRows('big', rows);
    expect(models).toHaveLength(10_000);
    expect(models[9999].path).toBe('big/f9999');
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('firstByName', () => {
  it('keeps all entries within the limit, in their order', () => {
    const entries = [{ name: 'b' }, { name: 'a' }];
    expect(firstByName(entries, 2)).toBe(entries);
  });

  it('keeps the first entries in natural name order', () => {
    const entries = ['f10', 'F2', 'f1', 'g', 'f3'].map(name => ({ name }));
    expect(firstByName(entries, 3).map(e => e.name)).toEqual([
      'f1',
      'F2',
      'f3'
    ]);
  });
});

describe('drivePath', () => {
  it("opens a cluster job's hdfs:// output through the cluster's drive", () => {
    expect(
      drivePath('hdfs://prod-b/user/alice/mlplat-jobs/j1/train.ipynb')
    ).toBe('prod-b:user/alice/mlplat-jobs/j1/train.ipynb');
    expect(
      drivePath('hdfs://prod-b/base/j1/train.ipynb', () => 'hdfs://prod-b/base')
    ).toBe('prod-b:j1/train.ipynb');
  });

  it('leaves root paths and URLs outside the cluster root alone', () => {
    expect(drivePath('nb/mlplat-outputs/x-j1/x.ipynb')).toBe(
      'nb/mlplat-outputs/x-j1/x.ipynb'
    );
    expect(
      drivePath('hdfs://prod-b/other/x.ipynb', () => 'hdfs://prod-b/base')
    ).toBe('hdfs://prod-b/other/x.ipynb');
  });
});

describe('hdfsUrl', () => {
  it('joins the cluster URL and the path', () => {
    expect(hdfsUrl('hdfs://prod-a/', 'data/x.csv')).toBe(
      'hdfs://prod-a/data/x.csv'
    );
    expect(hdfsUrl('hdfs://prod-a/base', '/x.csv')).toBe(
      'hdfs://prod-a/base/x.csv'
    );
    expect(hdfsUrl('hdfs://prod-a/', '')).toBe('hdfs://prod-a/');
  });
});

describe('readCode', () => {
  it('reads tables with pandas', () => {
    expect(readCode('hdfs://prod-a/d/x.csv')).toBe(
      'import pandas as pd\n\ndf = pd.read_csv("hdfs://prod-a/d/x.csv")\ndf'
    );
    expect(readCode('hdfs://prod-a/d/x.parquet')).toContain(
      'pd.read_parquet("hdfs://prod-a/d/x.parquet", storage_options={})'
    );
    expect(readCode('hdfs://prod-a/d/X.JSON')).toContain(
      'pd.read_json("hdfs://prod-a/d/X.JSON")'
    );
    expect(readCode('hdfs://prod-a/d/x.jsonl')).toContain(', lines=True)');
    expect(readCode('hdfs://prod-a/d/x.tsv')).toContain('sep="\\t"');
  });

  it('opens other files with fsspec, text or binary', () => {
    expect(readCode('hdfs://prod-b/model.bin')).toBe(
      [
        'import fsspec',
        '',
        'with fsspec.open("hdfs://prod-b/model.bin", "rb") as f:',
        '    data = f.read()',
        'len(data)'
      ].join('\n')
    );
    expect(readCode('hdfs://prod-b/notes.txt')).toContain(
      'fsspec.open("hdfs://prod-b/notes.txt", "r")'
    );
  });

  it('quotes paths as Python string literals', () => {
    expect(readCode('hdfs://c/it\'s "x".csv')).toContain(
      'pd.read_csv("hdfs://c/it\'s \\"x\\".csv")'
    );
  });

  it('takes the extension of the name only', () => {
    expect(extension('hdfs://c/dir.csv/file')).toBe('');
    expect(extension('.bashrc')).toBe('');
    expect(extension('a.tar.GZ')).toBe('gz');
  });
});

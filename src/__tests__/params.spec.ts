import type { IParameter } from '../api';
import {
  collectParameters,
  defaultText,
  gpuError,
  parameterKind,
  parameterOfValue,
  parameterValue,
  parsePythonLiteral,
  quantityError,
  valueToText
} from '../params';

const param = (
  name: string,
  inferred_type_name: string,
  defaultValue: string | null
): IParameter => ({
  name,
  inferred_type_name,
  default: defaultValue,
  help: ''
});

describe('parsePythonLiteral', () => {
  it.each([
    ['3', 3],
    ['-0.5', -0.5],
    ['1e-3', 0.001],
    ["'adam'", 'adam'],
    ['"it\\\'s"', "it's"],
    ['True', true],
    ['False', false],
    ['None', null],
    ['[1, 2]', [1, 2]],
    ["{'a': 1}", { a: 1 }]
  ])('%s', (source, value) => {
    expect(parsePythonLiteral(source)).toEqual(value);
  });

  it('gives up on expressions', () => {
    expect(parsePythonLiteral('np.arange(3)')).toBeUndefined();
  });
});

describe('parameterKind', () => {
  it('follows the annotation first', () => {
    expect(parameterKind(param('n', 'int', '3'))).toBe('int');
    expect(parameterKind(param('lr', 'float', '1'))).toBe('float');
    expect(parameterKind(param('xs', 'List[int]', '[]'))).toBe('json');
    expect(parameterKind(param('flag', 'bool', 'False'))).toBe('bool');
  });

  it('falls back to the type of the default', () => {
    expect(parameterKind(param('n', 'None', '3'))).toBe('int');
    expect(parameterKind(param('lr', 'None', '0.1'))).toBe('float');
    expect(parameterKind(param('lr', 'None', '1.0'))).toBe('float');
    expect(parameterKind(param('opt', 'None', "'adam'"))).toBe('str');
    expect(parameterKind(param('on', 'None', 'True'))).toBe('bool');
    expect(parameterKind(param('cfg', 'None', "{'a': 1}"))).toBe('json');
    expect(parameterKind(param('x', 'None', null))).toBe('any');
    expect(parameterKind(param('x', 'None', 'f(1)'))).toBe('any');
  });
});

describe('defaultText and valueToText', () => {
  it('shows defaults as a user would type them', () => {
    expect(defaultText(param('opt', 'str', "'adam'"))).toBe('adam');
    expect(defaultText(param('n', 'int', '3'))).toBe('3');
    expect(defaultText(param('on', 'bool', 'True'))).toBe('true');
    expect(defaultText(param('x', 'None', 'f(1)'))).toBe('f(1)');
    expect(defaultText(param('x', 'None', null))).toBe('');
  });

  it('writes previous values back into fields', () => {
    expect(valueToText(5)).toBe('5');
    expect(valueToText('a b')).toBe('a b');
    expect(valueToText([1, 2])).toBe('[1,2]');
    expect(valueToText(null)).toBe('');
  });
});

describe('parameterValue', () => {
  it('parses whole numbers for int fields only', () => {
    expect(parameterValue('int', ' 5 ')).toEqual({ ok: true, value: 5 });
    expect(parameterValue('int', '-12')).toEqual({ ok: true, value: -12 });
    expect(parameterValue('int', '5.5').ok).toBe(false);
    expect(parameterValue('int', '5x').ok).toBe(false);
  });

  it('parses floats', () => {
    expect(parameterValue('float', '1e-3')).toEqual({ ok: true, value: 0.001 });
    expect(parameterValue('float', '2')).toEqual({ ok: true, value: 2 });
    expect(parameterValue('float', 'fast').ok).toBe(false);
    expect(parameterValue('float', 'Infinity').ok).toBe(false);
  });

  it('parses booleans', () => {
    expect(parameterValue('bool', 'True')).toEqual({ ok: true, value: true });
    expect(parameterValue('bool', 'false')).toEqual({ ok: true, value: false });
    expect(parameterValue('bool', 'yes').ok).toBe(false);
  });

  it('keeps strings as typed', () => {
    expect(parameterValue('str', ' 42 ')).toEqual({ ok: true, value: ' 42 ' });
  });

  it('needs JSON for lists and dicts', () => {
    expect(parameterValue('json', '[1, 2]')).toEqual({
      ok: true,
      value: [1, 2]
    });
    expect(parameterValue('json', '[1, 2')).toEqual({
      ok: false,
      error: expect.stringContaining('JSON')
    });
  });

  it('reads untyped values as JSON when they are, else as text', () => {
    expect(parameterValue('any', '3')).toEqual({ ok: true, value: 3 });
    expect(parameterValue('any', 'hello')).toEqual({
      ok: true,
      value: 'hello'
    });
  });
});

describe('collectParameters', () => {
  const params = [
    param('n', 'None', '3'),
    param('lr', 'float', '0.1'),
    param('opt', 'str', "'adam'"),
    param('debug', 'bool', 'False')
  ];

  it('sends only the fields filled in, with their types', () => {
    expect(
      collectParameters(params, { n: '5', lr: '', debug: 'true', other: 'x' })
    ).toEqual({ values: { n: 5, debug: true }, errors: {} });
  });

  it('reports every field that does not parse', () => {
    const { values, errors } = collectParameters(params, {
      n: 'five',
      lr: '0.x',
      opt: 'sgd'
    });
    expect(values).toEqual({ opt: 'sgd' });
    expect(Object.keys(errors).sort()).toEqual(['lr', 'n']);
  });
});

describe('resources', () => {
  it('accepts Kubernetes quantities or nothing', () => {
    for (const ok of ['', '2', '0.5', '500m', '4Gi', '1G', '128974848']) {
      expect(quantityError(ok)).toBeNull();
    }
    for (const bad of ['two', '4 GB', '-1', '1.5.2', 'Gi']) {
      expect(quantityError(bad)).not.toBeNull();
    }
  });

  it('accepts whole GPU counts', () => {
    expect(gpuError('')).toBeNull();
    expect(gpuError('2')).toBeNull();
    expect(gpuError('1.5')).not.toBeNull();
    expect(gpuError('-1')).not.toBeNull();
  });
});

describe('parameterOfValue', () => {
  it('types a previous value so its field validates the same way', () => {
    expect(parameterKind(parameterOfValue('n', 5))).toBe('int');
    expect(parameterKind(parameterOfValue('lr', 0.5))).toBe('float');
    expect(parameterKind(parameterOfValue('on', false))).toBe('bool');
    expect(parameterKind(parameterOfValue('s', 'x'))).toBe('str');
    expect(parameterKind(parameterOfValue('xs', [1]))).toBe('json');
    expect(parameterKind(parameterOfValue('nothing', null))).toBe('any');
  });
});

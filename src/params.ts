/**
 * Notebook parameters in the submit dialog: what kind of field each one gets,
 * and turning what the user typed into the JSON value sent to the server.
 */
import type { IParameter } from './api';

export type ParameterKind = 'bool' | 'int' | 'float' | 'str' | 'json' | 'any';

/**
 * A Python literal as papermill reports defaults (`3`, `'a'`, `True`, `[1]`),
 * as a JSON value; undefined when it is not a simple literal.
 */
export function parsePythonLiteral(text: string): unknown {
  const source = text.trim();
  if (source === 'True' || source === 'False') {
    return source === 'True';
  }
  if (source === 'None') {
    return null;
  }
  const quoted = /^(['"])(.*)\1$/s.exec(source);
  if (quoted) {
    return quoted[2].replace(/\\(['"\\])/g, '$1');
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(source)) {
    return Number(source);
  }
  try {
    return JSON.parse(
      source
        .replace(/\bTrue\b/g, 'true')
        .replace(/\bFalse\b/g, 'false')
        .replace(/\bNone\b/g, 'null')
        .replace(/'/g, '"')
    );
  } catch {
    return undefined;
  }
}

/**
 * The kind of a parameter: its annotation, else the type of its default
 * (the server checks values the same way).
 */
export function parameterKind(param: IParameter): ParameterKind {
  const annotated = param.inferred_type_name.toLowerCase().split('[')[0];
  const named = kindOfTypeName(annotated);
  if (named) {
    return named;
  }
  const value =
    param.default === null ? undefined : parsePythonLiteral(param.default);
  if (typeof value === 'boolean') {
    return 'bool';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && !/[.eE]/.test(param.default ?? '')
      ? 'int'
      : 'float';
  }
  if (typeof value === 'string') {
    return 'str';
  }
  if (value !== null && typeof value === 'object') {
    return 'json';
  }
  return 'any';
}

function kindOfTypeName(name: string): ParameterKind | null {
  switch (name) {
    case 'bool':
    case 'int':
    case 'float':
    case 'str':
      return name;
    case 'list':
    case 'tuple':
    case 'dict':
      return 'json';
    default:
      return null;
  }
}

/**
 * The text a field starts with for a value (a default or a previous run's).
 */
export function valueToText(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/**
 * The field text of a parameter's default.
 */
export function defaultText(param: IParameter): string {
  if (param.default === null) {
    return '';
  }
  const value = parsePythonLiteral(param.default);
  return value === undefined ? param.default : valueToText(value);
}

export type ParsedValue =
  { ok: true; value: unknown } | { ok: false; error: string };

/**
 * What the user typed, as the value to send; an error says what to fix.
 */
export function parameterValue(kind: ParameterKind, text: string): ParsedValue {
  const source = text.trim();
  switch (kind) {
    case 'bool':
      if (/^(true|false)$/i.test(source)) {
        return { ok: true, value: source.toLowerCase() === 'true' };
      }
      return { ok: false, error: 'must be true or false' };
    case 'int':
      if (/^[+-]?\d+$/.test(source)) {
        return { ok: true, value: Number(source) };
      }
      return { ok: false, error: 'must be a whole number' };
    case 'float': {
      const value = Number(source);
      if (source !== '' && Number.isFinite(value)) {
        return { ok: true, value };
      }
      return { ok: false, error: 'must be a number' };
    }
    case 'str':
      return { ok: true, value: text };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(source) };
      } catch {
        return { ok: false, error: 'must be JSON, e.g. [1, 2] or {"a": 1}' };
      }
    case 'any':
      try {
        return { ok: true, value: JSON.parse(source) };
      } catch {
        return { ok: true, value: text };
      }
  }
}

/**
 * The values of the fields the user filled in (an empty field keeps the
 * notebook's default), and the errors by parameter name.
 */
export function collectParameters(
  params: readonly IParameter[],
  texts: Readonly<Record<string, string>>
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const param of params) {
    const text = texts[param.name];
    if (text === undefined || text.trim() === '') {
      continue;
    }
    const parsed = parameterValue(parameterKind(param), text);
    if (parsed.ok) {
      values[param.name] = parsed.value;
    } else {
      errors[param.name] = parsed.error;
    }
  }
  return { values, errors };
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|[KMGTPE]i?|[kKMGTPE])?$/;

/**
 * Why a CPU or memory request is not a Kubernetes quantity (null when it is,
 * or when it is left empty).
 */
export function quantityError(text: string): string | null {
  const value = text.trim();
  if (value === '' || QUANTITY.test(value)) {
    return null;
  }
  return 'must be a quantity such as 2, 500m or 4Gi';
}

/**
 * Why a GPU count is not a whole number ≥ 0 (null when it is, or empty).
 */
export function gpuError(text: string): string | null {
  const value = text.trim();
  return value === '' || /^\d+$/.test(value)
    ? null
    : 'must be a whole number of GPUs';
}

/**
 * A parameter for a value a previous run was given, when the notebook can
 * no longer be inspected.
 */
export function parameterOfValue(name: string, value: unknown): IParameter {
  let type = 'None';
  if (typeof value === 'boolean') {
    type = 'bool';
  } else if (typeof value === 'number') {
    type = Number.isInteger(value) ? 'int' : 'float';
  } else if (typeof value === 'string') {
    type = 'str';
  } else if (Array.isArray(value)) {
    type = 'list';
  } else if (value !== null && typeof value === 'object') {
    type = 'dict';
  }
  return { name, inferred_type_name: type, default: null, help: '' };
}

/**
 * Reading annotation JSON with errors that name the file and the field, e.g.
 * `data/val/cat.json: field "shapes[2].points" must be an array, got string`.
 */
import * as fs from 'node:fs';

/** A JSON value known to come from `file` at `path` (the field path used in messages). */
export interface Located {
  file: string;
  path: string;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The error thrown for a bad field. */
export function fieldError(at: Located, msg: string): Error {
  return new Error(`${at.file}: field "${at.path}" ${msg}`);
}

/** `path.key` or `path[i]`, for messages. */
export function child(at: Located, key: string | number): Located {
  const path = typeof key === 'number' ? `${at.path}[${key}]` : at.path ? `${at.path}.${key}` : key;
  return { file: at.file, path };
}

/**
 * Reads and parses a JSON file: UTF-8 (a BOM is skipped); bytes that are not valid UTF-8 are read
 * as Latin-1 instead, like LISA's cp1252 fallback for ReasonSeg files.
 */
export function readJsonFile(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read JSON file (${code === 'ENOENT' ? 'file not found' : String(err)})`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = bytes.toString('latin1');
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** A required field of an object. */
export function field(obj: Record<string, unknown>, key: string, at: Located): unknown {
  if (!(key in obj) || obj[key] === undefined) throw fieldError(child(at, key), 'is missing');
  return obj[key];
}

export function asObject(v: unknown, at: Located): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fieldError(at, `must be an object, got ${typeName(v)}`);
  return v as Record<string, unknown>;
}

export function asArray(v: unknown, at: Located): unknown[] {
  if (!Array.isArray(v)) throw fieldError(at, `must be an array, got ${typeName(v)}`);
  return v;
}

export function asString(v: unknown, at: Located): string {
  if (typeof v !== 'string') throw fieldError(at, `must be a string, got ${typeName(v)}`);
  return v;
}

export function asNumber(v: unknown, at: Located): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fieldError(at, `must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

export function asInteger(v: unknown, at: Located): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw fieldError(at, `must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

export function asBoolean(v: unknown, at: Located): boolean {
  if (typeof v !== 'boolean') throw fieldError(at, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** An array of [x, y] points (numbers). */
export function asPoints(v: unknown, at: Located): [number, number][] {
  return asArray(v, at).map((p, i) => {
    const pa = asArray(p, child(at, i));
    if (pa.length !== 2) throw fieldError(child(at, i), `must be [x, y], got ${pa.length} values`);
    return [asNumber(pa[0], child(child(at, i), 0)), asNumber(pa[1], child(child(at, i), 1))];
  });
}


/**
 * Config overrides merged into typed defaults (nanoGPT style): every key of an override must exist
 * in the defaults, with a value of the same type; errors name the key path, the value and what was
 * expected. Arrays and primitives replace; objects merge recursively.
 */
export function mergeConfig<T>(defaults: T, overrides: unknown, where = 'config'): T {
  if (overrides === undefined || overrides === null) return structuredClone(defaults);
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`${where}: expected an object of overrides, got ${JSON.stringify(overrides)}`);
  }
  const base = defaults as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(overrides as Record<string, unknown>)) {
    const path = `${where}.${k}`;
    if (!(k in base)) throw new Error(`${path}: unknown key; valid keys: ${Object.keys(base).join(', ')}`);
    const d = base[k];
    if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
      out[k] = mergeConfig(d, v, path);
    } else if (Array.isArray(d)) {
      if (!Array.isArray(v)) throw new Error(`${path}: expected an array, got ${JSON.stringify(v)}`);
      out[k] = structuredClone(v);
    } else if (d === null) {
      out[k] = v;
    } else {
      if (typeof v !== typeof d) throw new Error(`${path}: expected a ${typeof d}, got ${JSON.stringify(v)} (${typeof v})`);
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${path}: expected a finite number, got ${v}`);
      out[k] = v;
    }
  }
  return out as T;
}

/** Parse "a.b=3" style overrides (from --set flags) into a nested object; values are JSON or strings. */
export function parseOverrides(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`override "${pair}": expected key=value`);
    const keys = pair.slice(0, eq).split('.');
    const raw = pair.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node = out;
    keys.slice(0, -1).forEach((k) => {
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      node = node[k] as Record<string, unknown>;
    });
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

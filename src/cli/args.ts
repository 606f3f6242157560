/**
 * A small, strict argument parser: `--name value`, `--name=value` and boolean `--flag`. Unknown
 * flags are rejected with the list of valid ones, so a typo never silently runs the default.
 */
export interface FlagSpec {
  /** 'boolean' flags take no value. */
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
}

export type Flags = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

export function parseFlags(argv: string[], spec: Record<string, FlagSpec>): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) flags[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    const s = spec[name];
    if (!s) {
      const valid = Object.keys(spec).map((k) => `--${k}`).join(', ') || '(none)';
      throw new UsageError(`unknown option --${name}; valid options: ${valid}`);
    }
    if (s.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (s.type === 'number') {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`--${name} expects a number, got "${raw}"`);
      flags[name] = v;
    } else {
      flags[name] = raw;
    }
  }
  return { flags, positional };
}

export function formatHelp(spec: Record<string, FlagSpec>): string {
  return Object.entries(spec)
    .map(([k, s]) => `  --${k}${s.type === 'boolean' ? '' : ` <${s.type}>`}  ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ''}`)
    .join('\n');
}

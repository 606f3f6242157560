/** Run the `coprs` CLI as a subprocess (as a user would) and parse its `--json` last line. */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { PACKAGE_ROOT } from '../../src/util/paths';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | null;
}

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'coprs.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs, cwd: PACKAGE_ROOT,
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(lines[lines.length - 1]);
  } catch {
    json = null;
  }
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', json };
}

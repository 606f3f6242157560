/** A JSONL training log: one JSON object per line, appended and flushed as it goes. */
import * as fs from 'fs';
import * as path from 'path';

export class JsonlLog {
  private readonly fd: number;
  constructor(readonly file: string, opts: { truncate?: boolean } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, opts.truncate ? 'w' : 'a');
  }

  write(record: Record<string, unknown>): void {
    fs.writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Read a JSONL file back (a partial last line, from a crash mid-write, is skipped). */
  static read(file: string): Record<string, unknown>[] {
    if (!fs.existsSync(file)) return [];
    const out: Record<string, unknown>[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a line cut off by a crash
      }
    }
    return out;
  }
}

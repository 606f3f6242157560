/**
 * The sub-sample ownership canvas shared by the scene generator (visibility checks while placing
 * objects) and the renderer. `owner` holds, for every sub-sample, 0 for background or k + 1 for the
 * topmost object k painted there. The label map assigns a pixel to object k when k owns at least
 * half of its sub-samples (ties go to the higher z); that rule defines the instance masks.
 */
import type { Spans } from './raster';

export class Canvas {
  /** Sub-samples per pixel along each axis. */
  readonly S: number;
  readonly width: number;
  readonly height: number;
  /** Sub-sample grid width (width * S). */
  readonly gridW: number;
  /** Owner per sub-sample: 0 background, k + 1 object k. Length (width*S) * (height*S). */
  readonly owner: Uint8Array;
  /** Label per pixel: 0 background, k + 1 object k. Length width * height. */
  readonly label: Uint8Array;
  /** Visible pixel count per object (from the label map). */
  visible: number[] = [];
  private readonly counts = new Int32Array(256);

  constructor(width: number, height: number, S: number) {
    this.S = S;
    this.width = width;
    this.height = height;
    this.gridW = width * S;
    this.owner = new Uint8Array(width * S * height * S);
    this.label = new Uint8Array(width * height);
  }

  /** Paints object k's spans on top of everything painted so far. */
  paint(k: number, sp: Spans): void {
    if (k > 254) throw new Error(`Canvas.paint: at most 255 objects, got id ${k}`);
    const v = k + 1;
    const d = sp.data;
    for (let t = 0; t < sp.count; t++) {
      const row = d[3 * t] * this.gridW;
      this.owner.fill(v, row + d[3 * t + 1], row + d[3 * t + 2] + 1);
    }
  }

  /** Label of one pixel from the sub-sample owners. */
  private pixelLabel(px: number, py: number, nLabels: number): number {
    const S = this.S;
    const c = this.counts;
    c.fill(0, 0, nLabels + 1);
    for (let sy = 0; sy < S; sy++) {
      const base = (py * S + sy) * this.gridW + px * S;
      for (let sx = 0; sx < S; sx++) c[this.owner[base + sx]]++;
    }
    const half = Math.ceil((S * S) / 2);
    let best = 0;
    let bestC = 0;
    for (let k = 1; k <= nLabels; k++) {
      if (c[k] >= half && c[k] >= bestC) {
        best = k;
        bestC = c[k];
      }
    }
    return best;
  }

  /**
   * Recomputes the labels inside a pixel box [x0, y0, x1, y1] (inclusive) and keeps the visible
   * counts of objects 0..nObjects-1 up to date.
   */
  relabel(box: [number, number, number, number], nObjects: number): void {
    while (this.visible.length < nObjects) this.visible.push(0);
    const [x0, y0, x1, y1] = box;
    for (let y = Math.max(0, y0); y <= Math.min(this.height - 1, y1); y++) {
      for (let x = Math.max(0, x0); x <= Math.min(this.width - 1, x1); x++) {
        const idx = y * this.width + x;
        const old = this.label[idx];
        const now = this.pixelLabel(x, y, nObjects);
        if (old !== now) {
          if (old > 0) this.visible[old - 1]--;
          if (now > 0) this.visible[now - 1]++;
          this.label[idx] = now;
        }
      }
    }
  }

  private saved: { owner: Uint8Array; label: Uint8Array; visible: number[] } | null = null;

  /** Remembers the current state (one level) so a rejected placement can be undone with `rollback()`. */
  save(): void {
    if (!this.saved) this.saved = { owner: new Uint8Array(this.owner.length), label: new Uint8Array(this.label.length), visible: [] };
    this.saved.owner.set(this.owner);
    this.saved.label.set(this.label);
    this.saved.visible = this.visible.slice();
  }

  /** Restores the state remembered by the last `save()`. */
  rollback(): void {
    if (!this.saved) throw new Error('Canvas.rollback: nothing saved');
    this.owner.set(this.saved.owner);
    this.label.set(this.saved.label);
    this.visible = this.saved.visible.slice();
  }

  /** Clears everything (background only). */
  clear(): void {
    this.owner.fill(0);
    this.label.fill(0);
    this.visible = [];
  }
}

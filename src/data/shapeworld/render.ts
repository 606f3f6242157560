/**
 * The renderer: an anti-aliased RGB image (every pixel averages S x S sub-samples, each colored by
 * its topmost object or the background), an optional dark outline where an object borders
 * something below it, and the label map of visible pixels (0 background, k + 1 object k; a pixel
 * belongs to k when k is topmost on at least half of its sub-samples). Integer arithmetic only.
 */
import type { BinaryMask, RGBImage } from '../sample';
import { renderBackground } from './background';
import { DEFAULT_CONFIG, type ShapeWorldConfig } from './config';
import { layoutScene } from './layout';
import type { SceneGraph } from './scene';

/** Per-pixel object labels: 0 background, k + 1 object k. */
export interface LabelMap {
  width: number;
  height: number;
  /** length width * height */
  data: Uint8Array;
}

export interface RenderResult {
  image: RGBImage;
  labelMap: LabelMap;
}

/** Renders a scene graph to an image and its label map (pure function of the scene and the config). */
export function renderScene(scene: SceneGraph, cfg: ShapeWorldConfig = DEFAULT_CONFIG): RenderResult {
  const { width: W, height: H } = scene;
  const S = cfg.supersample;
  const canvas = layoutScene(scene, cfg);
  const bg = renderBackground(scene.background, W, H);
  const n = scene.objects.length;
  // palette: index 2k = fill of object k, 2k + 1 = its outline color
  const pal = new Int32Array(2 * n * 3);
  for (const o of scene.objects) {
    for (let ch = 0; ch < 3; ch++) {
      pal[(2 * o.id) * 3 + ch] = o.rgb[ch];
      pal[(2 * o.id + 1) * 3 + ch] = Math.floor((o.rgb[ch] * cfg.outline.shade) / 256);
    }
  }
  const gw = W * S;
  const gh = H * S;
  const own = canvas.owner;
  const ow = cfg.outline.enabled ? cfg.outline.width : 0;
  const nSub = S * S;
  const data = new Uint8Array(W * H * 3);
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const p = (py * W + px) * 3;
      for (let sy = 0; sy < S; sy++) {
        const j = py * S + sy;
        for (let sx = 0; sx < S; sx++) {
          const i = px * S + sx;
          const o = own[j * gw + i];
          if (o === 0) {
            r += bg[p];
            g += bg[p + 1];
            b += bg[p + 2];
            continue;
          }
          let edge = 0;
          if (ow > 0) {
            if ((i >= ow && own[j * gw + i - ow] < o) || (i + ow < gw && own[j * gw + i + ow] < o) ||
              (j >= ow && own[(j - ow) * gw + i] < o) || (j + ow < gh && own[(j + ow) * gw + i] < o)) edge = 1;
          }
          const q = (2 * (o - 1) + edge) * 3;
          r += pal[q];
          g += pal[q + 1];
          b += pal[q + 2];
        }
      }
      data[p] = Math.floor((2 * r + nSub) / (2 * nSub));
      data[p + 1] = Math.floor((2 * g + nSub) / (2 * nSub));
      data[p + 2] = Math.floor((2 * b + nSub) / (2 * nSub));
    }
  }
  return { image: { width: W, height: H, data }, labelMap: { width: W, height: H, data: canvas.label.slice() } };
}

/** Binary mask of the pixels labelled with any of the given object ids. */
export function objectMask(labelMap: LabelMap, ids: readonly number[]): BinaryMask {
  const want = new Uint8Array(256);
  for (const id of ids) want[id + 1] = 1;
  const data = new Uint8Array(labelMap.data.length);
  for (let k = 0; k < data.length; k++) data[k] = want[labelMap.data[k]];
  return { width: labelMap.width, height: labelMap.height, data };
}

/** One mask of visible pixels per object (index = object id); the masks are disjoint. */
export function instanceMasks(labelMap: LabelMap, nObjects: number): BinaryMask[] {
  const masks: BinaryMask[] = [];
  for (let k = 0; k < nObjects; k++) masks.push({ width: labelMap.width, height: labelMap.height, data: new Uint8Array(labelMap.data.length) });
  for (let p = 0; p < labelMap.data.length; p++) {
    const l = labelMap.data[p];
    if (l > 0 && l <= nObjects) masks[l - 1].data[p] = 1;
  }
  return masks;
}

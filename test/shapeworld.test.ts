/**
 * ShapeWorld-RS scenes and rendering: determinism, visibility rules, instance masks, anti-aliasing,
 * and the fixed trigonometry tables.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/util/rng';
import {
  COLORS, DEFAULT_CONFIG, SHAPES, composeScene, generateScene, instanceMasks, objectMask, renderScene, resolveConfig,
  type SceneGraph,
} from '../src/data/shapeworld';
import { cos15, sin15, SHAPE_SPECS } from '../src/data/shapeworld/vocab';

const PROFILES = ['sparse', 'mixed', 'crowded', 'reasoning'] as const;

function scenes(n: number, profile: (typeof PROFILES)[number], seed0 = 1): SceneGraph[] {
  return Array.from({ length: n }, (_, i) => generateScene(new Rng(seed0 * 1000 + i), { profile }));
}

describe('shapeworld scenes', () => {
  it('same seed gives an identical scene graph and identical pixels', () => {
    for (const profile of PROFILES) {
      const a = generateScene(new Rng(42), { profile });
      const b = generateScene(new Rng(42), { profile });
      assert.deepEqual(a, b);
      const ra = renderScene(a);
      const rb = renderScene(b);
      assert.deepEqual(ra.image.data, rb.image.data);
      assert.deepEqual(ra.labelMap.data, rb.labelMap.data);
    }
  });

  it('different seeds give different scenes and images', () => {
    const a = generateScene(new Rng(1));
    const b = generateScene(new Rng(2));
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(renderScene(a).image.data, renderScene(b).image.data);
  });

  it('object counts follow the profile and ids equal z order', () => {
    for (const profile of PROFILES) {
      const p = DEFAULT_CONFIG.profiles[profile];
      for (const s of scenes(30, profile)) {
        assert.ok(s.objects.length >= p.minObjects && s.objects.length <= p.maxObjects, `${profile}: ${s.objects.length} objects`);
        s.objects.forEach((o, k) => {
          assert.equal(o.id, k);
          assert.equal(o.z, k);
        });
      }
    }
  });

  it('every object keeps the minimum visible fraction and pixel count', () => {
    for (const profile of PROFILES) {
      const p = DEFAULT_CONFIG.profiles[profile];
      for (const s of scenes(40, profile, 7)) {
        for (const o of s.objects) {
          assert.ok(o.visibleArea >= DEFAULT_CONFIG.minVisiblePixels, `${profile}: object ${o.id} has ${o.visibleArea} px`);
          assert.ok(o.visibleArea >= p.minVisibleFraction * o.fullArea, `${profile}: object ${o.id} visible ${o.visibleArea}/${o.fullArea}`);
          assert.ok(o.visibleFraction <= 1);
        }
      }
    }
  });

  it('objects of the same color never touch', () => {
    const g = DEFAULT_CONFIG.sameColorGap;
    for (const s of scenes(40, 'crowded', 3)) {
      const { labelMap } = renderScene(s);
      const W = s.width;
      for (let y = 0; y < W; y++) {
        for (let x = 0; x < W; x++) {
          const l = labelMap.data[y * W + x];
          if (l === 0) continue;
          for (let dy = -g; dy <= g; dy++) {
            for (let dx = -g; dx <= g; dx++) {
              const xx = x + dx;
              const yy = y + dy;
              if (xx < 0 || yy < 0 || xx >= W || yy >= W) continue;
              const m = labelMap.data[yy * W + xx];
              if (m > 0 && m !== l) assert.notEqual(s.objects[l - 1].color, s.objects[m - 1].color, 'same-color objects touch');
            }
          }
        }
      }
    }
  });

  it('instance masks are disjoint, cover the label map and match the scene statistics', () => {
    for (const s of scenes(20, 'crowded', 11)) {
      const { labelMap } = renderScene(s);
      const masks = instanceMasks(labelMap, s.objects.length);
      const cover = new Uint8Array(labelMap.data.length);
      masks.forEach((m, k) => {
        let area = 0;
        let x0 = Infinity;
        let y0 = Infinity;
        let x1 = -Infinity;
        let y1 = -Infinity;
        for (let p = 0; p < m.data.length; p++) {
          if (!m.data[p]) continue;
          cover[p]++;
          area++;
          const x = p % s.width;
          const y = Math.floor(p / s.width);
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
        assert.equal(area, s.objects[k].visibleArea);
        assert.deepEqual([x0, y0, x1, y1], s.objects[k].bbox);
        assert.deepEqual(objectMask(labelMap, [k]).data, m.data);
      });
      for (let p = 0; p < cover.length; p++) {
        assert.ok(cover[p] <= 1, 'masks overlap');
        assert.equal(cover[p], labelMap.data[p] > 0 ? 1 : 0);
      }
    }
  });

  it('anti-aliasing produces intermediate edge colors', () => {
    const cfg = resolveConfig({ outline: { enabled: false } });
    const s = composeScene([{ shape: 'circle', color: 'red', size: 'large', cx: 64, cy: 64 }], { config: cfg });
    const { image } = renderScene(s, cfg);
    const bg = [180, 180, 180];
    const fg = s.objects[0].rgb;
    let partial = 0;
    let pureFg = 0;
    for (let p = 0; p < image.data.length / 3; p++) {
      const px = [image.data[3 * p], image.data[3 * p + 1], image.data[3 * p + 2]];
      if (px.every((v, c) => v === fg[c])) pureFg++;
      else if (!px.every((v, c) => v === bg[c])) {
        partial++;
        // a blend: every channel between the two colors
        px.forEach((v, c) => assert.ok(v >= Math.min(bg[c], fg[c]) && v <= Math.max(bg[c], fg[c])));
      }
    }
    assert.ok(pureFg > 200, `${pureFg} interior pixels`);
    assert.ok(partial > 40, `only ${partial} edge pixels are blended`);
  });

  it('the label rule assigns a pixel to the object covering at least half of it', () => {
    const s = composeScene([{ shape: 'square', color: 'blue', size: 'large', cx: 64, cy: 64 }]);
    const { labelMap } = renderScene(s);
    assert.equal(labelMap.data[64 * 128 + 64], 1);
    assert.equal(labelMap.data[0], 0);
    assert.equal(s.objects[0].visibleArea, s.objects[0].fullArea);
    assert.equal(s.objects[0].visibleFraction, 1);
    assert.equal(s.objects[0].position, 'center');
  });

  it('occlusion: the top object hides the one below and visible stats reflect it', () => {
    const s = composeScene([
      { shape: 'square', color: 'blue', size: 'large', cx: 60, cy: 64 },
      { shape: 'circle', color: 'red', size: 'large', cx: 72, cy: 64 },
    ]);
    const [a, b] = s.objects;
    assert.ok(a.visibleArea < a.fullArea);
    assert.equal(b.visibleArea, b.fullArea);
    assert.ok(a.centroid[0] < 60, 'the visible part of the lower square lies to the left');
  });

  it('trigonometry tables agree with Math.cos/sin', () => {
    for (let d = -360; d <= 720; d += 15) {
      assert.ok(Math.abs(cos15(d) - Math.cos((d * Math.PI) / 180)) < 1e-12, `cos ${d}`);
      assert.ok(Math.abs(sin15(d) - Math.sin((d * Math.PI) / 180)) < 1e-12, `sin ${d}`);
    }
    assert.throws(() => cos15(10), /multiple of 15/);
    SHAPE_SPECS.star.unit.forEach(([x, y], k) => {
      const ang = ((-90 + 36 * k) * Math.PI) / 180;
      const r = k % 2 === 0 ? 1 : 0.5;
      assert.ok(Math.abs(x - r * Math.cos(ang)) < 1e-12 && Math.abs(y - r * Math.sin(ang)) < 1e-12, `star vertex ${k}`);
    });
  });

  it('covers every shape kind and color, and backgrounds stay muted', () => {
    const seen = new Set<string>();
    const colors = new Set<string>();
    for (const s of scenes(60, 'mixed', 5)) {
      for (const o of s.objects) {
        seen.add(o.shape);
        colors.add(o.color);
      }
      const [r, g, b] = s.background.base;
      assert.ok(Math.max(r, g, b) - Math.min(r, g, b) < 60, 'background base is low-saturation');
    }
    assert.deepEqual([...seen].sort(), [...SHAPES].sort());
    assert.deepEqual([...colors].sort(), [...COLORS].sort());
  });

  it('config overrides reject unknown keys and bad values', () => {
    assert.throws(() => resolveConfig({ imageSiz: 64 } as never), /unknown key "imageSiz"/);
    assert.throws(() => resolveConfig({ supersample: 0 }), /supersample/);
    assert.equal(resolveConfig({ supersample: 2 }).supersample, 2);
    assert.throws(() => generateScene(new Rng(1), { profile: 'nope' as never }), /unknown scene profile "nope".*mixed/);
  });

  it('generation and rendering are fast', () => {
    const t0 = performance.now();
    const n = 50;
    for (let i = 0; i < n; i++) renderScene(generateScene(new Rng(i), { profile: 'crowded' }));
    const ms = (performance.now() - t0) / n;
    assert.ok(ms < 50, `${ms.toFixed(1)} ms per crowded scene`);
  });
});

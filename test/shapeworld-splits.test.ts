/**
 * ShapeWorld-RS frozen splits on disk (data/shapeworld) and the training streams: sizes, sample
 * integrity (program selects the target, masks match the label map, CoT names the target),
 * construct coverage, testA vs testB, round trip with in-memory generation, manifest verification.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { checkImage, checkMask, type Sample } from '../src/data/sample';
import {
  DEFAULT_CONFIG, DEFAULT_DATA_DIR, SPLITS, evaluateProgram, frozenSplits, generateSplitSample, getSplit, isTrainSeed, listSplits, loadSplit,
  readManifest, shapeWorldMeta, shapeWorldStats, trainStream, verifyShapeWorld,
} from '../src/data/shapeworld';
import { objectName } from '../src/data/shapeworld/phrases';
import { SHAPE_WORDS, positionPhrase } from '../src/data/shapeworld/vocab';

const MINIMUMS: Record<string, number> = {
  'refshapes/val': 300, 'refshapes/testA': 300, 'refshapes/testB': 300, 'reasonshapes/val': 200, 'reasonshapes/test': 400,
};

const loaded = new Map<string, Sample[]>();

describe('shapeworld frozen splits', () => {
  before(async () => {
    for (const spec of frozenSplits()) loaded.set(`${spec.dataset}/${spec.split}`, await loadSplit(spec.dataset, spec.split));
  });

  it('lists every split and meets the minimum sizes', async () => {
    const rows = listSplits();
    assert.deepEqual(rows.map((r) => `${r.dataset}/${r.split}`), [
      'refshapes/train', 'refshapes/val', 'refshapes/testA', 'refshapes/testB', 'reasonshapes/train', 'reasonshapes/val', 'reasonshapes/test',
    ]);
    const manifest = await readManifest();
    assert.ok(manifest, 'data/shapeworld/manifest.json is missing: run coprs data build --update-manifest');
    for (const [name, min] of Object.entries(MINIMUMS)) {
      assert.ok(loaded.get(name)!.length >= min, `${name}: ${loaded.get(name)!.length} < ${min}`);
      assert.equal(manifest!.splits[name].count, loaded.get(name)!.length);
    }
    assert.ok(manifest!.totalBytes < 30e6, `${manifest!.totalBytes} bytes`);
  });

  it('unknown names throw errors that list the valid ones', async () => {
    assert.throws(() => getSplit('refcocoo', 'val'), /unknown dataset "refcocoo"; valid datasets: refshapes, reasonshapes/);
    assert.throws(() => getSplit('refshapes', 'testC'), /unknown split "testC" for dataset "refshapes"; valid splits: train, val, testA, testB/);
    assert.throws(() => getSplit('reasonshapes', 'testA'), /valid splits: train, val, test/);
    await assert.rejects(loadSplit('refshapes', 'tset'), /unknown split "tset"/);
    await assert.rejects(loadSplit('refshapes', 'train'), /seeded stream.*trainStream/);
    assert.throws(() => generateSplitSample('refshapes', 'val', 300), /out of range/);
    assert.throws(() => trainStream('shapes'), /unknown dataset "shapes"/);
  });

  it('every sample is consistent: program, masks, label map, chain of thought', () => {
    const ids = new Set<string>();
    for (const [name, samples] of loaded) {
      const spec = getSplit(samples[0].dataset, samples[0].split);
      const prof = DEFAULT_CONFIG.profiles[spec.profile];
      for (const s of samples) {
        assert.ok(!ids.has(s.id), `duplicate id ${s.id}`);
        ids.add(s.id);
        checkImage(s.image);
        checkMask(s.mask, s.image);
        const m = shapeWorldMeta(s);
        assert.equal(s.subset, spec.subsetOf(m.index));
        assert.ok(!isTrainSeed(m.sceneSeed), `${s.id} uses a training scene seed`);
        // the program selects exactly the target
        const r = evaluateProgram(m.program, m.scene);
        assert.ok(r.ok, `${s.id}: ${r.error}`);
        assert.deepEqual(r.outputs[r.outputs.length - 1], m.targetIds);
        // the target mask is the label map's pixels of the target, and not empty
        const t = m.targetIds[0];
        let area = 0;
        for (let p = 0; p < s.mask.data.length; p++) {
          assert.equal(s.mask.data[p], m.labelMap.data[p] === t + 1 ? 1 : 0);
          area += s.mask.data[p];
        }
        assert.ok(area > 0, `${s.id}: empty target mask`);
        assert.equal(area, m.scene.objects[t].visibleArea);
        // instance masks are disjoint and match the visible areas
        const cover = new Uint8Array(s.mask.data.length);
        m.instanceMasks.forEach((im, k) => {
          let a = 0;
          for (let p = 0; p < im.data.length; p++) {
            if (im.data[p]) {
              cover[p]++;
              a++;
            }
          }
          assert.equal(a, m.scene.objects[k].visibleArea);
        });
        assert.ok(cover.every((c) => c <= 1), `${s.id}: instance masks overlap`);
        // visibility rules of the split's profile
        assert.ok(m.scene.objects.length >= prof.minObjects && m.scene.objects.length <= prof.maxObjects);
        for (const o of m.scene.objects) assert.ok(o.visibleArea >= prof.minVisibleFraction * o.fullArea && o.visibleArea >= DEFAULT_CONFIG.minVisiblePixels, `${s.id}: object ${o.id}`);
        // the chain of thought names the target's color and shape, and fits a CoPRS response
        const o = m.scene.objects[t];
        const cot = s.cot!;
        assert.equal(cot.target.objectId, t);
        assert.ok(cot.text.includes(`${o.color} ${SHAPE_WORDS[o.shape].noun}`), `${s.id}: ${cot.text}`);
        assert.ok(cot.text.endsWith(`So the target is the ${objectName(o)} ${positionPhrase(o.position)}.`), cot.text);
        assert.equal(cot.target.position, o.position);
        assert.ok(!/[<>]/.test(cot.text) && cot.text.length <= 2048, `${s.id}: CoT unusable inside <think>`);
        assert.equal(cot.candidates.filter((c) => c.kept).map((c) => c.objectId).join(), String(t));
        if (s.subset === 'long') assert.ok(s.query.split(/\s+/).length >= 15, `${s.id}: long query too short: ${s.query}`);
      }
      assert.ok(samples.length > 0, name);
    }
  });

  it('every grammar construct appears in the frozen splits', () => {
    const constructs = (dataset: string) => {
      const c = new Map<string, number>();
      for (const [name, ss] of loaded) if (name.startsWith(dataset)) for (const s of ss) for (const k of shapeWorldMeta(s).constructs) c.set(k, (c.get(k) ?? 0) + 1);
      return c;
    };
    const ref = constructs('refshapes');
    for (const k of ['attribute', 'region', 'relation', 'superlative']) assert.ok((ref.get(k) ?? 0) >= 20, `refshapes: ${k} ${ref.get(k)}`);
    const rea = constructs('reasonshapes');
    for (const k of ['superlative', 'relation', 'counting', 'negation', 'knowledge', 'region', 'attribute']) assert.ok((rea.get(k) ?? 0) >= 10, `reasonshapes: ${k} ${rea.get(k)}`);
    for (const name of ['reasonshapes/val', 'reasonshapes/test']) {
      const fams = new Set(loaded.get(name)!.map((s) => shapeWorldMeta(s).family));
      assert.deepEqual([...fams].sort(), ['counting', 'knowledge', 'negation', 'relation', 'same', 'superlative']);
      const subsets = loaded.get(name)!.map((s) => s.subset);
      assert.equal(subsets.filter((x) => x === 'short').length, subsets.filter((x) => x === 'long').length);
    }
    // many different world-knowledge facts are used
    const facts = new Set<string>();
    for (const [name, ss] of loaded) {
      if (!name.startsWith('reasonshapes')) continue;
      for (const s of ss) for (const n of shapeWorldMeta(s).program) if (n.op === 'filter' && n.pred.type === 'fact') facts.add(n.pred.value);
    }
    assert.ok(facts.size >= 15, `only ${facts.size} facts used`);
  });

  it('testA (sparse) is sparser and less occluded than testB (crowded)', () => {
    const objs = (n: string) => loaded.get(n)!.map((s) => shapeWorldMeta(s).scene.objects);
    const a = objs('refshapes/testA');
    const b = objs('refshapes/testB');
    assert.ok(Math.max(...a.map((x) => x.length)) <= 3 && Math.min(...b.map((x) => x.length)) >= 5);
    const vis = (xs: ReturnType<typeof objs>) => {
      const all = xs.flat();
      return all.reduce((t, o) => t + o.visibleFraction, 0) / all.length;
    };
    assert.ok(vis(a) > 0.99 && vis(b) < vis(a) - 0.03, `visible fraction A ${vis(a)} B ${vis(b)}`);
    assert.ok(loaded.get('refshapes/testA')!.every((s) => s.subset === 'sparse'));
    assert.ok(loaded.get('refshapes/testB')!.every((s) => s.subset === 'crowded'));
  });

  it('loaded samples equal in-memory generation', () => {
    for (const spec of frozenSplits()) {
      for (const i of [0, 1, 17]) {
        const g = generateSplitSample(spec.dataset, spec.split, i);
        assert.deepEqual(loaded.get(`${spec.dataset}/${spec.split}`)![i], g, `${spec.dataset}/${spec.split}/${i}`);
      }
    }
  });

  it('loadSplit honours limit', async () => {
    const s = await loadSplit('reasonshapes', 'val', { limit: 3 });
    assert.equal(s.length, 3);
    assert.deepEqual(s.map((x) => x.id), ['reasonshapes/val/000000', 'reasonshapes/val/000001', 'reasonshapes/val/000002']);
  });

  it('stats count every split and subset', async () => {
    const st = await shapeWorldStats();
    assert.equal(st.total, [...loaded.values()].reduce((t, s) => t + s.length, 0));
    assert.deepEqual(st.splits['reasonshapes/test'].subsets, { short: 200, long: 200 });
    assert.ok(st.splits['refshapes/testA'].objectsPerScene.mean < st.splits['refshapes/testB'].objectsPerScene.mean);
    assert.ok(st.splits['reasonshapes/test'].queryWordsBySubset.long.mean > st.splits['reasonshapes/test'].queryWordsBySubset.short.mean);
    const fromSamples = await shapeWorldStats(loaded.get('refshapes/val')!);
    assert.deepEqual(fromSamples.splits['refshapes/val'], st.splits['refshapes/val']);
  });

  it('the committed files match the manifest', async () => {
    const r = await verifyShapeWorld();
    assert.ok(r.ok, JSON.stringify(r.mismatches.slice(0, 5)));
    assert.equal(r.checkedSplits, 5);
  });

  it('verify reports tampered, missing and extra files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shapeworld-verify-'));
    try {
      await fs.cp(DEFAULT_DATA_DIR, dir, { recursive: true });
      const img = path.join(dir, 'refshapes/val/images/000005.png');
      const { decodeRgbPng, encodeRgbPng } = await import('../src/data/shapeworld/png');
      const px = await decodeRgbPng(img);
      px.data[0] ^= 1;
      await fs.writeFile(img, await encodeRgbPng(px));
      await fs.rm(path.join(dir, 'reasonshapes/val/labels/000003.png'));
      await fs.writeFile(path.join(dir, 'refshapes/extra.txt'), 'x');
      const r = await verifyShapeWorld(dir);
      assert.equal(r.ok, false);
      const kinds = r.mismatches.map((m) => `${m.kind} ${m.path}`).sort();
      assert.ok(kinds.includes('sha256 refshapes/val/images/000005.png'), kinds.join('\n'));
      assert.ok(kinds.includes('split-checksum refshapes/val'), kinds.join('\n'));
      assert.ok(kinds.includes('missing-file reasonshapes/val/labels/000003.png'), kinds.join('\n'));
      assert.ok(kinds.includes('split-checksum reasonshapes/val'), kinds.join('\n'));
      assert.ok(kinds.includes('extra-file refshapes/extra.txt'), kinds.join('\n'));
      const none = await verifyShapeWorld(path.join(dir, 'nope'));
      assert.equal(none.mismatches[0].kind, 'missing-manifest');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shapeworld training streams', () => {
  it('are seeded, restorable and draw from training scenes only', () => {
    for (const dataset of ['refshapes', 'reasonshapes']) {
      const a = trainStream(dataset, { seed: 5 });
      const first = a.take(3);
      const state = a.getState();
      assert.deepEqual(state, { dataset, seed: 5, index: 3 });
      const next = a.next();
      const b = trainStream(dataset, { seed: 5 });
      assert.deepEqual(b.take(3), first);
      const c = trainStream(dataset, { seed: 123 });
      c.setState(state);
      assert.deepEqual(c.next(), next);
      const d = trainStream(dataset, { seed: 6 });
      assert.notDeepEqual(d.next().image.data, first[0].image.data);
      for (const s of [...first, next]) {
        const m = shapeWorldMeta(s);
        assert.ok(isTrainSeed(m.sceneSeed));
        assert.equal(s.split, 'train');
        const r = evaluateProgram(m.program, m.scene);
        assert.ok(r.ok && r.outputs[r.outputs.length - 1][0] === m.targetIds[0]);
      }
      let n = 0;
      for (const s of trainStream(dataset)) {
        assert.equal(s.dataset, dataset);
        if (++n === 2) break;
      }
    }
    const r = trainStream('reasonshapes').take(4).map((s) => s.subset);
    assert.deepEqual(r, ['short', 'long', 'short', 'long']);
    assert.throws(() => trainStream('refshapes').setState({ dataset: 'reasonshapes', seed: 1, index: 0 }), /state is for "reasonshapes"/);
    assert.equal(SPLITS.refshapes.train.kind, 'stream');
  });
});

/**
 * The kit's wasm gradient kernels against the `cpu` backend on seeded random inputs
 * (float32 relative error ≤ 1e-4), and every op probe's gradient on wasm vs cpu.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { prepareBackend } from '../src/backend/select';
import { OP_PROBES, runProbe } from '../src/backend/probe-ops';
import { trainingKernelReport } from '../src/backend/kernels';
import { setMaxColsFloats } from '../src/backend/wasm-kernels/heap';
import { conv2d, dilateKernel } from '../src/nn/conv';
import { Rng } from '../src/util/rng';
import { assertClose } from './helpers/compare';

const TOL = 1e-4;

before(async () => {
  for (const b of ['cpu', 'wasm'] as const) {
    const a = await prepareBackend(b);
    assert.ok(a.ok, `${b} must start: ${a.detail}`);
  }
});

function randomArray(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-1, 1);
  return v;
}

/** Run fn on a backend with seeded inputs of the given shapes; return the outputs' data. */
async function onBackend(backend: string, shapes: number[][], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.tensor(randomArray(s.reduce((a, b) => a * b, 1), 100 + i), s));
    const out = fn(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

async function compareBackends(what: string, shapes: number[][], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<void> {
  const want = await onBackend('cpu', shapes, fn);
  const got = await onBackend('wasm', shapes, fn);
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i], TOL, `${what} output ${i}`));
}

/** Call the Conv2DBackpropFilter kernel directly (tfjs exports no op for it). */
function backpropFilter(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], strides: number | [number, number], pad: 'same' | 'valid'): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

const convCases: { name: string; x: number[]; f: number[]; stride: number | [number, number]; pad: 'same' | 'valid' }[] = [
  { name: '3x3 s1 same', x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { name: '3x3 s2 same', x: [2, 9, 8, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { name: '3x3 s2 valid', x: [1, 11, 10, 2], f: [3, 3, 2, 5], stride: 2, pad: 'valid' },
  { name: '2x2 s2 valid', x: [3, 8, 8, 4], f: [2, 2, 4, 8], stride: 2, pad: 'valid' },
  { name: '1x1', x: [2, 6, 6, 7], f: [1, 1, 7, 3], stride: 1, pad: 'valid' },
  { name: '8x8 s8 patchify', x: [1, 32, 32, 3], f: [8, 8, 3, 16], stride: 8, pad: 'valid' },
  { name: '5x3 stride [1,2]', x: [2, 10, 9, 3], f: [5, 3, 3, 2], stride: [1, 2], pad: 'same' },
];

for (const c of convCases) {
  test(`Conv2DBackpropFilter wasm = cpu: ${c.name}`, async () => {
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x as [number, number, number, number]) as tf.Tensor4D, tf.zeros(c.f as [number, number, number, number]) as tf.Tensor4D, c.stride, c.pad).shape);
    await compareBackends(c.name, [c.x, dyShape], (x, dy) =>
      backpropFilter(x, dy, c.f, c.stride, c.pad));
  });
}

for (const c of convCases) {
  test(`Conv2DBackpropInput wasm = cpu: ${c.name}`, async () => {
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x as [number, number, number, number]) as tf.Tensor4D, tf.zeros(c.f as [number, number, number, number]) as tf.Tensor4D, c.stride, c.pad).shape);
    await compareBackends(c.name, [dyShape, c.f], (dy, w) =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x } as unknown as tf.NamedAttrMap) as tf.Tensor);
  });
}

test('Conv2DBackpropInput wasm = cpu when the dcols matrix is split into chunks', async () => {
  const prev = setMaxColsFloats(100);
  try {
    await compareBackends('chunked input', [[2, 7, 7, 4], [3, 3, 3, 4]], (dy, w) =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 7, 7, 3] } as unknown as tf.NamedAttrMap) as tf.Tensor);
  } finally {
    setMaxColsFloats(prev);
  }
});

test('Conv2DBackpropFilter wasm = cpu when the im2col is split into chunks', async () => {
  const prev = setMaxColsFloats(100);
  try {
    await compareBackends('chunked', [[2, 7, 7, 3], [2, 7, 7, 4]], (x, dy) =>
      backpropFilter(x, dy, [3, 3, 3, 4], 1, 'same'));
  } finally {
    setMaxColsFloats(prev);
  }
});

test('UnsortedSegmentSum wasm = cpu (with out-of-range ids dropped)', async () => {
  await compareBackends('unsortedSegmentSum', [[6, 5]], (x) =>
    tf.unsortedSegmentSum(x, tf.tensor1d([0, 3, 3, 1, 0, 2], 'int32'), 4));
  await tf.setBackend('wasm');
  const r = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 7, 1], 'int32'), 2).arraySync());
  assert.deepEqual(r, [[0, 0], [6, 8]]);
  const ri = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([0, 0, 1], 'int32'), 2).arraySync());
  assert.deepEqual(ri, [3, 3]);
});

for (const [name, stride, pad, dil] of [['s1 same', 1, 'same', 1], ['s2 valid', 2, 'valid', 1]] as const) {
  test(`DepthwiseConv2dNative backprop kernels wasm = cpu: ${name}`, async () => {
    const x = [2, 9, 9, 3];
    const f = [3, 3, 3, 2];
    const dyShape = tf.tidy(() => tf.depthwiseConv2d(tf.zeros(x as [number, number, number, number]) as tf.Tensor4D, tf.zeros(f as [number, number, number, number]) as tf.Tensor4D, stride, pad, 'NHWC', dil).shape);
    const attrs = { strides: stride, dilations: dil, pad, inputShape: x, filterShape: f } as unknown as tf.NamedAttrMap;
    await compareBackends(`depthwise ${name}`, [x, f, dyShape], (xs, fs, dy) => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: fs }, attrs) as tf.Tensor,
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xs, dy }, attrs) as tf.Tensor,
    ]);
  });
}

test('DepthwiseConv2dNative backprop kernels with dilation 2 on wasm = the gradient through a dilated kernel (cpu\'s kernels ignore dilation)', async () => {
  const attrs = { strides: 1, dilations: 2, pad: 'same', inputShape: [2, 9, 9, 3], filterShape: [3, 3, 3, 2] } as unknown as tf.NamedAttrMap;
  const shapes = [[2, 9, 9, 3], [3, 3, 3, 2], [2, 9, 9, 6]];
  const truth = await onBackend('cpu', shapes, (x, w, dy) =>
    tf.grads((a: tf.Tensor, ww: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, dilateKernel(ww as tf.Tensor4D, 2), 1, 'same').mul(dy).sum())([x, w]));
  const got = await onBackend('wasm', shapes, (x, w, dy) => [
    tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, attrs) as tf.Tensor,
    tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs) as tf.Tensor,
  ]);
  assertClose(got[0], truth[0], TOL, 'dx');
  assertClose(got[1], truth[1], TOL, 'dw');
});

test('BatchMatMul with transpose flags (kit wrapper) wasm = cpu, ranks 2-4 and broadcast batch', async () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    // small products go to the original kernel; ≥ MIN_SPLIT_WORK per entry are split per batch entry (also broadcast)
    for (const [sa, sb] of [[[5, 7], [7, 3]], [[2, 5, 7], [2, 7, 3]], [[2, 3, 5, 7], [2, 3, 7, 3]], [[2, 5, 7], [1, 7, 3]],
      [[3, 24, 32], [3, 32, 20]], [[3, 24, 32], [1, 32, 20]], [[1, 24, 32], [3, 32, 20]], [[2, 2, 24, 32], [2, 2, 32, 20]], [[3, 24, 32], [32, 20]]]) {
      const shapeA = ta ? [...sa.slice(0, -2), sa[sa.length - 1], sa[sa.length - 2]] : sa;
      const shapeB = tb ? [...sb.slice(0, -2), sb[sb.length - 1], sb[sb.length - 2]] : sb;
      await compareBackends(`matMul ${shapeA}x${shapeB} tA=${ta} tB=${tb}`, [shapeA, shapeB], (a, b) => tf.matMul(a, b, ta, tb));
    }
  }
});

test('MaxPoolGrad: the kit kernel fixes tfjs-backend-wasm 4.22 on [1, 8, 8, 2] 2x2 s2 (and agrees elsewhere)', async () => {
  for (const [shape, size, stride, pad] of [
    [[1, 8, 8, 2], 2, 2, 'valid'], [[2, 7, 7, 3], 3, 2, 'same'], [[1, 6, 6, 4], 2, 1, 'valid'], [[1, 5, 9, 1], 3, 3, 'same'],
  ] as const) {
    await compareBackends(`maxPool grad ${shape}`, [shape as unknown as number[]], (x) =>
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad).mul(tf.range(1, 1 + tf.maxPool(a as tf.Tensor4D, size, stride, pad).size).reshape(tf.maxPool(a as tf.Tensor4D, size, stride, pad).shape)).sum())(x));
  }
});

for (const probe of OP_PROBES) {
  test(`op probe gradient wasm = cpu: ${probe.name}`, async () => {
    await tf.setBackend('cpu');
    const want = runProbe(probe);
    await tf.setBackend('wasm');
    const got = runProbe(probe);
    got.forEach((g, i) => assertClose(g, want[i], TOL, `${probe.name} ${i === 0 ? 'value' : `grad ${i - 1}`}`));
  });
}

test('wasm has every kernel the op probes need (training kernels complete)', async () => {
  await tf.setBackend('wasm');
  const r = await trainingKernelReport('wasm');
  assert.deepEqual(r.missing, []);
  assert.ok(r.complete && r.required > 40);
});

test('kit gradient kernels on wasm leak no tensors', async () => {
  await tf.setBackend('wasm');
  const step = () => {
    for (const probe of OP_PROBES) runProbe(probe);
  };
  step();
  const n = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, n);
});

test('conv2d with dilation: forward equals tf.conv2d, weight gradient equals the dilated kernel gradient at the taps', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const x = tf.tensor(randomArray(2 * 9 * 9 * 3, 5), [2, 9, 9, 3]) as tf.Tensor4D;
    const w = tf.tensor(randomArray(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]) as tf.Tensor4D;
    assertClose(conv2d(x, w, { dilation: 2 }).dataSync(), tf.conv2d(x, w, 1, 'same', 'NHWC', 2).dataSync(), 1e-5, 'forward');
    const dk = dilateKernel(w, 2);
    assert.deepEqual(dk.shape, [5, 5, 3, 4]);
    assert.equal(dk.slice([1, 0, 0, 0], [1, 5, 3, 4]).abs().sum().dataSync()[0], 0);
    // Finite differences on one weight.
    const f = (ww: tf.Tensor4D) => conv2d(x, ww, { dilation: 2 }).square().sum();
    const g = tf.grad((ww: tf.Tensor) => f(ww as tf.Tensor4D))(w);
    const h = 1e-2;
    const idx = 17;
    const bump = (s: number) => {
      const v = w.dataSync().slice();
      v[idx] += s;
      return f(tf.tensor(v, w.shape) as tf.Tensor4D).dataSync()[0];
    };
    const numeric = (bump(h) - bump(-h)) / (2 * h);
    const analytic = g.dataSync()[idx];
    assert.ok(Math.abs(numeric - analytic) / Math.abs(analytic) < 1e-2, `numeric ${numeric} vs analytic ${analytic}`);
  });
});

/**
 * From scene-graph geometry to sub-sample coverage: the outline of each object and the ownership
 * canvas of a whole scene (objects painted in z order). Used by the generator and the renderer, so
 * the stored visibility statistics and the rendered label map come from one code path.
 */
import { Canvas } from './canvas';
import type { ShapeWorldConfig } from './config';
import { rasterize, type ShapeGeometry, type Spans } from './raster';
import type { SceneGraph, SceneObject } from './scene';
import { shapeVertices, type ShapeKind } from './vocab';

/** Exact outline of an object from its stored parameters (center, extent, rotation). */
export function objectOutline(shape: ShapeKind, g: { cx: number; cy: number; extent: number; rotation: number }): ShapeGeometry {
  if (shape === 'circle') return { kind: 'circle', cx: g.cx, cy: g.cy, r: g.extent };
  return { kind: 'polygon', vertices: shapeVertices(shape, g.cx, g.cy, g.extent, g.rotation) };
}

/** Covered sub-samples of one scene object. */
export function objectSpans(obj: Pick<SceneObject, 'shape' | 'geometry'>, width: number, height: number, S: number): Spans {
  return rasterize(objectOutline(obj.shape, obj.geometry), S, width * S, height * S);
}

/** The ownership canvas (and label map) of a whole scene. */
export function layoutScene(scene: SceneGraph, cfg: ShapeWorldConfig): Canvas {
  const S = cfg.supersample;
  const canvas = new Canvas(scene.width, scene.height, S);
  const order = scene.objects.slice().sort((a, b) => a.z - b.z);
  for (const o of order) canvas.paint(o.id, objectSpans(o, scene.width, scene.height, S));
  canvas.relabel([0, 0, scene.width - 1, scene.height - 1], scene.objects.length);
  return canvas;
}

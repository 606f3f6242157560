/**
 * The paper's findings of §4.3 / appendix C set against the kit's measured numbers, one row each,
 * with whether they reproduce — computed from an analysis, never written by hand. The thresholds are
 * the paper's own words: "R > 0.7", "regression lines … and most points lie above y = x", "a clear
 * positive correlation", "higher consistency bins consistently achieve higher segmentation quality",
 * failures on "very small objects" and "dense groups of similar instances".
 */
import type { CorrelationPanel } from './correlation';
import type { ConsistencyResult } from './paper-figures';
import type { TraitComparison } from './failure-traits';

/** One finding (a type alias, not an interface, so rows pass as display.table rows). */
export type Verdict = {
  finding: string;
  paper: string;
  kit: string;
  /** 'yes' | 'no' | 'partly' | 'n/a' (no fit, e.g. too few samples). */
  reproduces: string;
};

const f2 = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(2));
const f3 = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(3));

/** Fig. 3: R > 0.7 in training and inference; line and most points above y = x in inference. */
export function correlationVerdicts(training: CorrelationPanel, inference: readonly CorrelationPanel[]): Verdict[] {
  const out: Verdict[] = [{
    finding: 'prior vs mask, training batches: R > 0.7', paper: 'R > 0.7 on every training set',
    kit: `R = ${f2(training.r)} over ${training.n} logged batches`, reproduces: training.r == null ? 'n/a' : training.r > 0.7 ? 'yes' : 'no',
  }];
  for (const p of inference) {
    out.push({
      finding: `prior vs mask, inference (${p.title.replace(/^\(\w\) inference · /, '')}): R > 0.7`, paper: 'R > 0.7 on every test split',
      kit: `R = ${f2(p.r)}, slope ${f2(p.fit?.slope)}, n = ${p.n}`, reproduces: p.r == null ? 'n/a' : p.r > 0.7 ? 'yes' : p.r > 0 ? 'partly (positive, weaker)' : 'no',
    });
  }
  for (const p of inference) {
    const most = p.aboveDiagonal > 0.5;
    out.push({
      finding: `line and most points above y = x (${p.title.replace(/^\(\w\) inference · /, '')})`, paper: 'the decoder refines the prior: mask IoU > prior IoU',
      kit: `${(100 * p.aboveDiagonal).toFixed(0)}% of points above; line above: ${p.lineAboveDiagonal == null ? '–' : p.lineAboveDiagonal ? 'yes' : 'no'}; mean prior IoU ${f3(p.fit?.xMean)}`,
      reproduces: p.lineAboveDiagonal == null ? 'n/a' : most && p.lineAboveDiagonal ? 'yes' : most || p.lineAboveDiagonal ? 'partly' : 'no',
    });
  }
  return out;
}

/** Fig. 4 and Table 3: positive R of consistency with heatmap and mask IoU; bins increase. */
export function consistencyVerdicts(results: readonly ConsistencyResult[]): Verdict[] {
  return results.flatMap((c) => {
    const [h, m] = c.panels;
    const pos = (r: number | null) => (r == null ? 'n/a' : r > 0.3 ? 'yes' : r > 0 ? 'partly (weak)' : 'no');
    const means = (k: 'heatmapMIoU' | 'maskMIoU') => c.bins.map((b) => (b.samples ? f2(b[k]) : '–')).join(' / ');
    return [
      { finding: `CoT consistency vs heatmap IoU (${c.split}): positive`, paper: 'clear positive correlation', kit: `R = ${f2(h.r)}`, reproduces: pos(h.r) },
      { finding: `CoT consistency vs mask IoU (${c.split}): positive`, paper: 'clear positive correlation', kit: `R = ${f2(m.r)}`, reproduces: pos(m.r) },
      {
        finding: `higher consistency bins, higher mIoU (${c.split})`, paper: 'heatmap .25/.51/.69/.82, mask .55/.78/.90/.94 (RefCOCO+)',
        kit: `heatmap ${means('heatmapMIoU')}; mask ${means('maskMIoU')} (n ${c.bins.map((b) => b.samples).join('/')})`,
        reproduces: c.increasing.heatmap && c.increasing.mask ? 'yes' : c.increasing.heatmap || c.increasing.mask ? 'partly' : 'no',
      },
    ];
  });
}

/** Fig. 7: failures concentrate on small targets and on crowds of similar objects. */
export function failureVerdicts(split: string, traits: readonly TraitComparison[], failures: number, all: number): Verdict[] {
  const t = (k: TraitComparison['trait']) => traits.find((x) => x.trait === k)!;
  const area = t('targetArea');
  const similar = ['sameShape', 'sameColor', 'objects'].map((k) => t(k as TraitComparison['trait']));
  const more = similar.filter((x) => x.failures > x.all).length;
  return [
    {
      finding: `failures: very small targets (${split})`, paper: 'tiny objects vanish at the input resolution',
      kit: `target area ${(100 * area.failures).toFixed(2)}% of the image in the ${failures} worst vs ${(100 * area.all).toFixed(2)}% in all ${all}`,
      reproduces: area.failures < area.all ? 'yes' : 'no',
    },
    {
      finding: `failures: crowds of similar instances (${split})`, paper: 'dense groups of similar instances',
      kit: similar.map((x) => `${x.trait} ${x.failures.toFixed(2)} vs ${x.all.toFixed(2)}`).join('; '),
      reproduces: more === similar.length ? 'yes' : more > 0 ? 'partly' : 'no',
    },
  ];
}

/**
 * Starting points for decision-based attacks taken from public data (the Fashion-MNIST test set),
 * shared by the attack lab and the experiment runner.
 */
type LabelledSet = { count: number; images: Uint8Array; labels: Uint8Array };

/**
 * Starting points a black-box attacker can take from public data: for each class other than
 * `label`, the test image of that class (by its true label) nearest to `x` (gray levels 0–255) in
 * L2, nearest first, in [0,1]. Decision attacks try them when no uniform-noise draw is adversarial
 * (see src/attacks/init.ts). `exclude`: a test index to skip (x itself).
 */
export function nearestOfOtherClasses(
  set: LabelledSet,
  x: ArrayLike<number>,
  label: number,
  exclude = -1,
): number[][] {
  const d = 784;
  if (x.length !== d) throw new RangeError(`x has ${x.length} pixels, not ${d}`);
  const best = new Map<number, { i: number; dist: number }>();
  for (let i = 0; i < set.count; i++) {
    const c = set.labels[i];
    if (c === label || i === exclude) continue;
    let dist = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) {
      const t = set.images[o + k] - x[k];
      dist += t * t;
    }
    const cur = best.get(c);
    if (!cur || dist < cur.dist) best.set(c, { i, dist });
  }
  return [...best.values()]
    .sort((a, b) => a.dist - b.dist || a.i - b.i)
    .map(({ i }) => Array.from(set.images.subarray(i * d, i * d + d), (v) => v / 255));
}

/** nearestOfOtherClasses for test image `index` (its true label, itself excluded). */
export function startCandidates(set: LabelledSet, index: number): number[][] {
  return nearestOfOtherClasses(
    set,
    set.images.subarray(index * 784, index * 784 + 784),
    set.labels[index],
    index,
  );
}

/** Types shared by every attack. */

export type Norm = 'l2' | 'linf';

/** decision: labels only; score: probabilities; gradient: white-box (input gradients). */
export type AttackKind = 'decision' | 'score' | 'gradient';

export interface TrajectoryPoint {
  /** Queries spent when this point was recorded. */
  queries: number;
  /** Distance of the current best adversarial (decision attacks, SimBA) in the attack's norm. */
  distance?: number;
  /** The attack's loss (score attacks): the probability or margin it minimises; white-box: the loss it ascends. */
  loss?: number;
  /** White-box attacks: the mean logit margin z_y − max_{j≠y} z_j (< 0 once misclassified). */
  margin?: number;
}

/** What every attack takes; each attack adds its own parameters. */
export interface AttackOptions {
  /** The clean image, values in [0, 1] (row-major [h, w] when `shape` is given). */
  x: Float32Array;
  /** The true (or currently predicted) class of x. */
  label: number;
  /** Target class for a targeted attack; absent means untargeted. */
  target?: number;
  /** Hard query budget (model queries; EOT oracles charge k per image). Never exceeded. */
  maxQueries: number;
  seed: number;
  norm?: Norm;
  /** Perturbation budget for the attacks that have one (Square, random noise). */
  eps?: number;
  /** [h, w] for attacks that need the 2-D layout (SimBA-DCT, Square); default: square. */
  shape?: readonly [number, number];
  /**
   * Quantise every candidate to the 8-bit grid before it is queried (and the clean image first):
   * use it with HTTP oracles, which only transmit bytes, so the reported adversarial is the image the
   * server classified and distances are measured from quantize(x).
   */
  quantize?: boolean;
  /** Most images per oracle call (for batch-capable oracles); does not change results. */
  batchSize?: number;
  onProgress?: (point: TrajectoryPoint) => void;
  /** Stops the attack early; it returns the best result so far. */
  signal?: AbortSignal;
}

export interface AttackResult {
  /** Clipped to [0, 1] and within the attack's constraint; x itself when nothing was found. */
  adversarial: Float32Array;
  success: boolean;
  /** forward queries (model classifications) */
  queries: number;
  /** white-box attacks: gradient evaluations (images × EOT draws), counted apart from queries */
  gradientEvaluations?: number;
  l2: number;
  linf: number;
  trajectory: TrajectoryPoint[];
  wallMs: number;
  originalLabel: number;
  /** The label the oracle gave the reported image (originalLabel when it was never queried). */
  adversarialLabel: number;
  /** The resolved parameters, for the record. */
  params: Record<string, unknown>;
}

/**
 * The orthonormal 2-D DCT-II basis on an [h, w] image (scipy's dct(norm='ortho') per axis, as
 * SimBA's block_idct with the block size = the image size). Basis vector (u, v):
 *   b[i·w + j] = α_u·cos(π(2i+1)u / 2h) · α_v·cos(π(2j+1)v / 2w),  α_0 = √(1/n), α_k = √(2/n).
 * The vectors are orthonormal, so a coefficient step of ε moves the image by exactly ε in L2.
 */
export class DctBasis {
  private readonly rows: Float64Array[];
  private readonly cols: Float64Array[];

  constructor(
    readonly h: number,
    readonly w: number,
  ) {
    this.rows = table(h);
    this.cols = table(w);
  }

  /** Adds scale·basis(u, v) to `out` (length h·w). */
  addBasis(out: Float64Array, u: number, v: number, scale: number): void {
    const cu = this.rows[u];
    const cv = this.cols[v];
    for (let i = 0; i < this.h; i++) {
      const a = scale * cu[i];
      const o = i * this.w;
      for (let j = 0; j < this.w; j++) out[o + j] += a * cv[j];
    }
  }

  /** The basis vector of flat frequency index k = u·w + v. */
  vector(k: number): Float64Array {
    const out = new Float64Array(this.h * this.w);
    this.addBasis(out, Math.floor(k / this.w), k % this.w, 1);
    return out;
  }
}

function table(n: number): Float64Array[] {
  const t: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.sqrt((k === 0 ? 1 : 2) / n);
    const row = new Float64Array(n);
    for (let i = 0; i < n; i++) row[i] = a * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
    t.push(row);
  }
  return t;
}

/**
 * Seedable randomness for defenses and attacks, on pure-rand's xoroshiro128+ (a library PRNG
 * rather than Math.random, so every run can be reproduced from its seed).
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export class Rng {
  private gen: RandomGenerator;
  private spareNormal: number | null = null;

  constructor(readonly seed: number) {
    // xoroshiro's first outputs from a small seed have few set bits: hash the seed (murmur3's
    // finaliser) and discard a few outputs so nearby seeds give unrelated streams.
    this.gen = xoroshiro128plus(mix32(seed));
    for (let i = 0; i < 16; i++) this.gen.next();
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform in [0, 1), 53 bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [a, b). */
  uniformIn(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent child stream, e.g. one per image or per query. */
  fork(): Rng {
    return new Rng(this.nextUint32() | 0);
  }
}

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A fresh 31-bit seed for requests that carry none (reported back so the draw can be replayed). */
export function freshSeed(): number {
  const buf = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buf);
  return buf[0] & 0x7fffffff;
}

/**
 * The seed of input `index` under base seed `base`. Index 0 keeps the base, so a single request
 * with seed S and item 0 of a batch with seed S draw the same; later items get hashed seeds in
 * 0..2^31−1 that can be sent back as a request's `seed` to replay that one item.
 */
export function deriveSeed(base: number, index: number): number {
  if (index === 0) return base;
  let h = (base | 0) ^ Math.imul(index, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 1;
}

/**
 * A small, fast, seeded stream of uniform numbers in [0, 1) (mulberry32: 32 bits a draw), for
 * Monte Carlo work that must be reproducible, such as the prediction intervals of
 * prophet-predict.ts, and for tests. Not for anything secret.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

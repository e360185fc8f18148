/**
 * The exact maximum a posteriori fit of Prophet's model where it is linear in its coefficients:
 * linear or flat growth with additive seasonalities and regressors. It solves the objective Stan's
 * `optimizing` minimises (no Jacobian) on the very input augurs gives its optimizer, so the result
 * is a drop-in replacement for Stan's output:
 *
 *   n·log σ + ‖y − Zθ‖²/(2σ²) + (k² + m²)/50 + Σ|δⱼ|/τ + Σ βᵢ²/(2sᵢ²) + σ²/(2·0.5²)
 *
 * with θ = (k, m, δ, β) and Z = [t, 1, (t − sⱼ)₊, X]. For a fixed σ this is a lasso with ridge
 * terms (convex), solved exactly by an active-set Newton method (feature-sign search) on the Gram
 * matrix ZᵀZ; for a fixed θ the best σ solves 4σ⁴ + nσ² − RSS = 0. The two are alternated with a
 * Newton step on λ = σ² (its derivative comes from the same Cholesky factor), warm-started, so a
 * daily fit takes a few dozen small linear solves. Float64Array throughout.
 * See ../shared/reference/exact-map-check.md for the derivation check against R prophet.
 */

import { designOfStanData } from './prophet-design.js';
import type { ProphetDesign } from './prophet-design.js';

/**
 * The optimizers a fit can use. `auto`: this exact solver wherever Prophet's model is linear in
 * its coefficients, Stan otherwise; `stan`: always augurs' Stan optimizer.
 */
export const FIT_OPTIMIZERS = ['auto', 'stan'] as const;
export type FitOptimizer = (typeof FIT_OPTIMIZERS)[number];

/** The optimizer's input, as augurs passes it (a JSON string): Prophet's Stan data block. */
export interface StanData {
  T: number;
  y: number[];
  t: number[];
  cap: number[];
  S: number;
  t_change: number[];
  /** 0 linear, 1 logistic, 2 flat. */
  trend_indicator: number;
  K: number;
  s_a: number[];
  s_m: number[];
  X: number[][];
  sigmas: number[];
  tau: number;
}

export interface MapParameters {
  k: number;
  m: number;
  sigmaObs: number;
  delta: ArrayLike<number>;
  beta: ArrayLike<number>;
}

export interface MapSolution extends MapParameters {
  delta: Float64Array;
  beta: Float64Array;
  /** The objective above at the solution. */
  objective: number;
  /** σ rounds and linear solves it took (for benchmarks and tests). */
  rounds: number;
  solves: number;
}

const LINEAR = 0;
const FLAT = 2;
/** Prior standard deviations of k and m, and of σ (Prophet's Stan model). */
const TREND_PRIOR_SD = 5;
const SIGMA_PRIOR_SD = 0.5;
/**
 * σ cannot reach 0 (a series the model fits exactly would push the objective to −∞): it stops at
 * this share of the scaled series, far below any noise a meter records.
 */
export const SIGMA_FLOOR = 1e-9;
const MAX_ROUNDS = 200;
const MAX_SOLVES_PER_ROUND = 500;

/** Why the exact solver does not apply to this input (undefined when it does). */
export function exactMapUnsupported(data: Pick<StanData | ProphetDesign, 'trend_indicator' | 's_m'>): string | undefined {
  if (data.trend_indicator !== LINEAR && data.trend_indicator !== FLAT) return 'logistic growth';
  for (let j = 0; j < data.s_m.length; j++) if (data.s_m[j] !== 0) return 'multiplicative seasonality or regressors';
  return undefined;
}

/** The design matrix column by column, with each column's penalty. */
interface Problem {
  n: number;
  p: number;
  /** Column-major n × p. */
  z: Float64Array;
  y: Float64Array;
  /** Ridge weight per column (1/prior variance; 0 for lasso columns). */
  ridge: Float64Array;
  /** 1 for lasso columns (δ). */
  lasso: Uint8Array;
  tau: number;
  linear: boolean;
  S: number;
  K: number;
  /** Changepoint times sⱼ (linear growth). */
  changepoints: ArrayLike<number>;
}

function buildProblem(data: ProphetDesign): Problem {
  const n = data.T;
  const linear = data.trend_indicator === LINEAR;
  const S = linear ? data.S : 0;
  const K = data.K;
  const offset = linear ? 2 + S : 1;
  const p = offset + K;
  const z = new Float64Array(n * p);
  const ridge = new Float64Array(p);
  const lasso = new Uint8Array(p);
  const y = Float64Array.from(data.y);
  const trendPrior = 1 / (TREND_PRIOR_SD * TREND_PRIOR_SD);
  if (linear) {
    ridge[0] = trendPrior;
    ridge[1] = trendPrior;
    for (let i = 0; i < n; i++) {
      const t = data.t[i] as number;
      z[i] = t;
      z[n + i] = 1;
      for (let j = 0; j < S; j++) {
        const s = data.t_change[j] as number;
        if (t >= s) z[(2 + j) * n + i] = t - s;
      }
    }
    lasso.fill(1, 2, 2 + S);
  } else {
    ridge[0] = trendPrior;
    z.fill(1, 0, n);
  }
  for (let j = 0; j < K; j++) {
    const scale = data.sigmas[j] as number;
    ridge[offset + j] = 1 / (scale * scale);
    const additive = data.s_a[j] as number;
    const column = data.columns[j] as Float64Array;
    const base = (offset + j) * n;
    for (let i = 0; i < n; i++) z[base + i] = additive * (column[i] as number);
  }
  return { n, p, z, y, ridge, lasso, tau: data.tau, linear, S, K, changepoints: data.t_change };
}

/** ZᵀZ (p × p, row-major) and Zᵀy, every product summed directly. */
function denseGram(problem: Problem): { g: Float64Array; b: Float64Array } {
  const { n, p, z, y } = problem;
  const g = new Float64Array(p * p);
  const b = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    const ca = a * n;
    let by = 0;
    for (let i = 0; i < n; i++) by += (z[ca + i] as number) * (y[i] as number);
    b[a] = by;
    for (let c = a; c < p; c++) {
      const cc = c * n;
      let s = 0;
      for (let i = 0; i < n; i++) s += (z[ca + i] as number) * (z[cc + i] as number);
      g[a * p + c] = s;
      g[c * p + a] = s;
    }
  }
  return { g, b };
}

/**
 * ZᵀZ and Zᵀy for linear growth, using the shape of the changepoint columns (t − sⱼ)₊: zero before
 * sⱼ, so every product with one of them is a sum over a suffix of the (sorted) times, taken from
 * suffix sums of d and t·d for each other column d: Σ (t − s)·d = Σ t·d − s·Σ d, and for two
 * changepoints Σ (t − a)(t − b) = Σ t² − (a + b)·Σ t + a·b·N. That is O(n·(K + 2)) for the
 * changepoint rows instead of O(n·S·p): ≈ 5× less work for a daily model with 25 changepoints.
 * The sums differ from the direct ones by rounding only (≈ 1e-14 relative on t ∈ [0, 1]).
 */
function gram(problem: Problem): { g: Float64Array; b: Float64Array } {
  const { n, p, z, y, S, linear } = problem;
  if (!linear || S === 0) return denseGram(problem);
  for (let i = 1; i < n; i++) if ((z[i] as number) < (z[i - 1] as number)) return denseGram(problem);
  const g = new Float64Array(p * p);
  const b = new Float64Array(p);
  // Columns other than the changepoints: t, 1, then X. Their products are summed directly.
  const dense = [0, 1];
  for (let c = 2 + S; c < p; c++) dense.push(c);
  for (const a of dense) {
    const ca = a * n;
    let by = 0;
    for (let i = 0; i < n; i++) by += (z[ca + i] as number) * (y[i] as number);
    b[a] = by;
    for (const c of dense) {
      if (c < a) continue;
      const cc = c * n;
      let s = 0;
      for (let i = 0; i < n; i++) s += (z[ca + i] as number) * (z[cc + i] as number);
      g[a * p + c] = s;
      g[c * p + a] = s;
    }
  }
  // Where each changepoint's column starts, and its time sⱼ.
  const starts = new Int32Array(S);
  const at = new Float64Array(S);
  for (let j = 0; j < S; j++) {
    let start = n;
    for (let i = 0; i < n; i++) {
      if ((z[i] as number) >= (problem.changepoints[j] as number)) {
        start = i;
        break;
      }
    }
    starts[j] = start;
    at[j] = problem.changepoints[j] as number;
  }
  // Suffix sums of d and t·d for every dense column d and for y, read at each start.
  const sums = (column: (i: number) => number): { plain: Float64Array; timed: Float64Array } => {
    const plain = new Float64Array(n + 1);
    const timed = new Float64Array(n + 1);
    for (let i = n - 1; i >= 0; i--) {
      const v = column(i);
      plain[i] = (plain[i + 1] as number) + v;
      timed[i] = (timed[i + 1] as number) + (z[i] as number) * v;
    }
    return { plain, timed };
  };
  const ySums = sums((i) => y[i] as number);
  const tSums = sums((i) => z[i] as number);
  for (let j = 0; j < S; j++) {
    const row = 2 + j;
    const start = starts[j] as number;
    const s = at[j] as number;
    b[row] = (ySums.timed[start] as number) - s * (ySums.plain[start] as number);
  }
  for (const d of dense) {
    const columnSums = d === 0 ? tSums : sums((i) => z[d * n + i] as number);
    for (let j = 0; j < S; j++) {
      const row = 2 + j;
      const start = starts[j] as number;
      const value = (columnSums.timed[start] as number) - (at[j] as number) * (columnSums.plain[start] as number);
      g[row * p + d] = value;
      g[d * p + row] = value;
    }
  }
  for (let j = 0; j < S; j++) {
    for (let k = j; k < S; k++) {
      const start = Math.max(starts[j] as number, starts[k] as number);
      const sj = at[j] as number;
      const sk = at[k] as number;
      const value = (tSums.timed[start] as number) - (sj + sk) * (tSums.plain[start] as number) + sj * sk * (n - start);
      g[(2 + j) * p + 2 + k] = value;
      g[(2 + k) * p + 2 + j] = value;
    }
  }
  return { g, b };
}

/**
 * Cholesky factor of the active block of H = G + λ·diag(ridge) (lower, row-major in `l`),
 * with a jitter that grows until the block is positive definite (collinear changepoints).
 */
function choleskyActive(g: Float64Array, p: number, ridge: Float64Array, lambda: number, active: Int32Array, m: number, l: Float64Array): void {
  let trace = 0;
  for (let a = 0; a < m; a++) {
    const j = active[a] as number;
    trace += (g[j * p + j] as number) + lambda * (ridge[j] as number);
  }
  let jitter = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    let ok = true;
    for (let r = 0; r < m && ok; r++) {
      const jr = active[r] as number;
      for (let c = 0; c <= r; c++) {
        const jc = active[c] as number;
        let s = (g[jr * p + jc] as number) + (r === c ? lambda * (ridge[jr] as number) + jitter : 0);
        for (let q = 0; q < c; q++) s -= (l[r * m + q] as number) * (l[c * m + q] as number);
        if (r === c) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          l[r * m + r] = Math.sqrt(s);
        } else {
          l[r * m + c] = s / (l[c * m + c] as number);
        }
      }
    }
    if (ok) return;
    jitter = jitter === 0 ? 1e-12 * (trace / Math.max(m, 1) + 1) : jitter * 100;
  }
  throw new Error('the design matrix is degenerate: no positive-definite system even with jitter');
}

/** Solves L Lᵀ x = rhs in place (`rhs` has length m). */
function choleskySolve(l: Float64Array, m: number, rhs: Float64Array): void {
  for (let r = 0; r < m; r++) {
    let s = rhs[r] as number;
    for (let q = 0; q < r; q++) s -= (l[r * m + q] as number) * (rhs[q] as number);
    rhs[r] = s / (l[r * m + r] as number);
  }
  for (let r = m - 1; r >= 0; r--) {
    let s = rhs[r] as number;
    for (let q = r + 1; q < m; q++) s -= (l[q * m + r] as number) * (rhs[q] as number);
    rhs[r] = s / (l[r * m + r] as number);
  }
}

/** State of the fixed-σ problem: minimise ½θᵀHθ − bᵀθ + γ·Σ|θ_lasso|, H = G + λ·diag(ridge), γ = λ/τ. */
class LassoRidge {
  readonly p: number;
  readonly theta: Float64Array;
  readonly sign: Int8Array;
  private readonly active: Int32Array;
  private readonly l: Float64Array;
  private readonly rhs: Float64Array;
  private readonly candidate: Float64Array;
  private readonly trial: Float64Array;
  private activeCount = 0;
  solves = 0;

  constructor(
    private readonly g: Float64Array,
    private readonly b: Float64Array,
    private readonly ridge: Float64Array,
    private readonly lasso: Uint8Array,
  ) {
    this.p = b.length;
    this.theta = new Float64Array(this.p);
    this.sign = new Int8Array(this.p);
    this.active = new Int32Array(this.p);
    this.l = new Float64Array(this.p * this.p);
    this.rhs = new Float64Array(this.p);
    this.candidate = new Float64Array(this.p);
    this.trial = new Float64Array(this.p);
  }

  /** (Hθ − b)ⱼ: the gradient of the smooth part. */
  private gradient(theta: Float64Array, j: number, lambda: number): number {
    const { g, p } = this;
    let s = lambda * (this.ridge[j] as number) * (theta[j] as number) - (this.b[j] as number);
    const row = j * p;
    for (let c = 0; c < p; c++) s += (g[row + c] as number) * (theta[c] as number);
    return s;
  }

  private objective(theta: Float64Array, lambda: number, gamma: number): number {
    const { g, p } = this;
    let value = 0;
    for (let a = 0; a < p; a++) {
      const ta = theta[a] as number;
      if (ta === 0) continue;
      let row = 0;
      for (let c = 0; c < p; c++) row += (g[a * p + c] as number) * (theta[c] as number);
      value += 0.5 * ta * (row + lambda * (this.ridge[a] as number) * ta) - (this.b[a] as number) * ta;
      if (this.lasso[a]) value += gamma * Math.abs(ta);
    }
    return value;
  }

  private collectActive(): void {
    let m = 0;
    for (let j = 0; j < this.p; j++) if (!this.lasso[j] || this.sign[j] !== 0) this.active[m++] = j;
    this.activeCount = m;
  }

  /** Newton step on the active set with fixed signs, then the best point on the segment (feature-sign search). */
  private featureSignStep(lambda: number, gamma: number): boolean {
    this.collectActive();
    const m = this.activeCount;
    choleskyActive(this.g, this.p, this.ridge, lambda, this.active, m, this.l);
    for (let a = 0; a < m; a++) {
      const j = this.active[a] as number;
      this.rhs[a] = (this.b[j] as number) - gamma * (this.sign[j] as number);
    }
    choleskySolve(this.l, m, this.rhs);
    this.solves++;
    this.candidate.fill(0);
    for (let a = 0; a < m; a++) this.candidate[this.active[a] as number] = this.rhs[a] as number;
    let consistent = true;
    for (let a = 0; a < m; a++) {
      const j = this.active[a] as number;
      if (this.lasso[j] && Math.sign(this.candidate[j] as number) !== this.sign[j]) consistent = false;
    }
    if (consistent) {
      this.theta.set(this.candidate);
      return true;
    }
    // Signs flipped: the objective is only quadratic up to the first zero crossing. Try the
    // candidate and every crossing, keep the lowest, and drop the coefficients that hit zero.
    let best = this.objective(this.candidate, lambda, gamma);
    let bestAt = 1;
    for (let a = 0; a < m; a++) {
      const j = this.active[a] as number;
      const from = this.theta[j] as number;
      const to = this.candidate[j] as number;
      if (!this.lasso[j] || from === 0 || Math.sign(to) === Math.sign(from)) continue;
      const at = from / (from - to);
      for (let c = 0; c < this.p; c++) this.trial[c] = (this.theta[c] as number) + at * ((this.candidate[c] as number) - (this.theta[c] as number));
      this.trial[j] = 0;
      const value = this.objective(this.trial, lambda, gamma);
      if (value < best) {
        best = value;
        bestAt = at;
      }
    }
    for (let c = 0; c < this.p; c++) {
      const from = this.theta[c] as number;
      let next = from + bestAt * ((this.candidate[c] as number) - from);
      // A lasso coefficient that reached (or crossed) zero at the chosen point leaves the active set.
      if (this.lasso[c] && (Math.sign(next) !== this.sign[c] || Math.abs(next) <= 1e-15 * (Math.abs(from) + 1))) next = 0;
      this.theta[c] = next;
    }
    for (let j = 0; j < this.p; j++) if (this.lasso[j]) this.sign[j] = Math.sign(this.theta[j] as number) as -1 | 0 | 1;
    return false;
  }

  /** Minimises for this λ, warm-started from the current θ. */
  solve(lambda: number, tau: number): void {
    const gamma = lambda / tau;
    // The tolerance on the subgradient condition, relative to the problem's scale.
    let scale = 0;
    for (let j = 0; j < this.p; j++) scale = Math.max(scale, Math.abs(this.b[j] as number));
    const tolerance = 1e-10 * (scale + gamma);
    for (let j = 0; j < this.p; j++) if (this.lasso[j]) this.sign[j] = Math.sign(this.theta[j] as number) as -1 | 0 | 1;
    for (let iteration = 0; iteration < MAX_SOLVES_PER_ROUND; iteration++) {
      if (!this.featureSignStep(lambda, gamma)) continue;
      // Active set optimal: add the zero lasso coefficient that most violates |gradient| ≤ γ.
      let worst = -1;
      let worstExcess = tolerance;
      let worstGradient = 0;
      for (let j = 0; j < this.p; j++) {
        if (!this.lasso[j] || this.theta[j] !== 0) continue;
        const gradient = this.gradient(this.theta, j, lambda);
        const excess = Math.abs(gradient) - gamma;
        if (excess > worstExcess) {
          worst = j;
          worstExcess = excess;
          worstGradient = gradient;
        }
      }
      if (worst < 0) return;
      this.sign[worst] = worstGradient > 0 ? -1 : 1;
    }
    throw new Error(`the exact MAP solver did not converge in ${MAX_SOLVES_PER_ROUND} active-set steps`);
  }

  /**
   * d RSS / dλ at the current solution, active set fixed: θ_A(λ) solves H_A θ_A = b_A − (λ/τ)s_A,
   * so dθ_A/dλ = −H_A⁻¹ v with v = ridge∘θ + s/τ, and dRSS/dλ = 2λ·vᵀH_A⁻¹v.
   */
  rssSlope(lambda: number, tau: number): number {
    this.collectActive();
    const m = this.activeCount;
    choleskyActive(this.g, this.p, this.ridge, lambda, this.active, m, this.l);
    const v = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      const j = this.active[a] as number;
      v[a] = (this.ridge[j] as number) * (this.theta[j] as number) + (this.lasso[j] ? (this.sign[j] as number) / tau : 0);
      this.rhs[a] = v[a] as number;
    }
    choleskySolve(this.l, m, this.rhs);
    let s = 0;
    for (let a = 0; a < m; a++) s += (v[a] as number) * (this.rhs[a] as number);
    return 2 * lambda * s;
  }
}

function residualSumOfSquares(problem: Problem, theta: Float64Array): number {
  const { n, p, z, y } = problem;
  const fitted = new Float64Array(n);
  for (let c = 0; c < p; c++) {
    const value = theta[c] as number;
    if (value === 0) continue;
    const base = c * n;
    for (let i = 0; i < n; i++) fitted[i] = (fitted[i] as number) + value * (z[base + i] as number);
  }
  let rss = 0;
  for (let i = 0; i < n; i++) rss += ((y[i] as number) - (fitted[i] as number)) ** 2;
  return rss;
}

/** The σ² that minimises the objective for a given RSS: the root of 4σ⁴ + nσ² − RSS = 0. */
function bestVariance(n: number, rss: number): number {
  // 2·RSS/(n + √(n² + 16·RSS)): the same root without the cancellation of −n + √(…) when RSS ≪ n².
  const variance = (2 * rss) / (n + Math.sqrt(n * n + 16 * rss));
  return Math.max(variance, SIGMA_FLOOR * SIGMA_FLOOR);
}

function objectiveOf(problem: Problem, theta: Float64Array, sigma: number, rss: number): number {
  let penalty = 0;
  for (let j = 0; j < problem.p; j++) {
    const v = theta[j] as number;
    penalty += problem.lasso[j] ? Math.abs(v) / problem.tau : 0.5 * (problem.ridge[j] as number) * v * v;
  }
  return problem.n * Math.log(sigma) + rss / (2 * sigma * sigma) + penalty + (sigma * sigma) / (2 * SIGMA_PRIOR_SD * SIGMA_PRIOR_SD);
}

function parameters(problem: Problem, theta: Float64Array): { k: number; m: number; delta: Float64Array; beta: Float64Array } {
  if (problem.linear) {
    return { k: theta[0] as number, m: theta[1] as number, delta: theta.slice(2, 2 + problem.S), beta: theta.slice(2 + problem.S) };
  }
  return { k: 0, m: theta[0] as number, delta: new Float64Array(0), beta: theta.slice(1) };
}

/** Stacks (k, m, δ, β) into this problem's θ (flat growth has no k or δ). */
function stack(problem: Problem, params: MapParameters): Float64Array {
  const theta = new Float64Array(problem.p);
  if (problem.linear) {
    theta[0] = params.k;
    theta[1] = params.m;
    for (let j = 0; j < problem.S; j++) theta[2 + j] = params.delta[j] as number;
    for (let j = 0; j < problem.K; j++) theta[2 + problem.S + j] = params.beta[j] as number;
  } else {
    theta[0] = params.m;
    for (let j = 0; j < problem.K; j++) theta[1 + j] = params.beta[j] as number;
  }
  return theta;
}

/**
 * The objective above for any parameters on this input (e.g. Stan's, to compare). For flat growth
 * k and δ do not enter the likelihood; only their priors count.
 */
export function prophetMapObjective(data: StanData, params: MapParameters): number {
  const problem = buildProblem(designOfStanData(data));
  const theta = stack(problem, params);
  const rss = residualSumOfSquares(problem, theta);
  let value = objectiveOf(problem, theta, params.sigmaObs, rss);
  if (!problem.linear) {
    value += (params.k * params.k) / (2 * TREND_PRIOR_SD * TREND_PRIOR_SD);
    for (let j = 0; j < params.delta.length; j++) value += Math.abs(params.delta[j] as number) / data.tau;
  }
  return value;
}

/**
 * Solves Prophet's MAP exactly (see the top of this file). Throws when `exactMapUnsupported`
 * names a reason, or on input it cannot use (non-finite values, no rows).
 */
export function solveProphetMap(data: StanData): MapSolution {
  return solveDesignMap(designOfStanData(data));
}

/** `solveProphetMap` on the input held column by column (see prophet-design.ts). */
export function solveDesignMap(data: ProphetDesign): MapSolution {
  const unsupported = exactMapUnsupported(data);
  if (unsupported) throw new Error(`the exact MAP solver does not handle ${unsupported}; use the Stan optimizer`);
  if (!(data.T > 0) || data.y.length !== data.T) throw new Error(`the optimizer input has ${data.y.length} values for T=${data.T}`);
  if (!(data.tau > 0)) throw new Error(`changepoint prior scale must be positive, got ${data.tau}`);
  const problem = buildProblem(data);
  if (!problem.z.every(Number.isFinite) || !problem.y.every(Number.isFinite)) throw new Error('the optimizer input holds non-finite values');
  const { g, b } = gram(problem);
  const solver = new LassoRidge(g, b, problem.ridge, problem.lasso);
  const n = problem.n;

  // Start from the spread of y: σ shrinks to the residual's scale within a few rounds.
  let mean = 0;
  for (let i = 0; i < n; i++) mean += problem.y[i] as number;
  mean /= n;
  let spread = 0;
  for (let i = 0; i < n; i++) spread += ((problem.y[i] as number) - mean) ** 2;
  let lambda = Math.max(spread / n, SIGMA_FLOOR * SIGMA_FLOOR);
  let rounds = 0;
  let rss = 0;
  for (; rounds < MAX_ROUNDS; rounds++) {
    solver.solve(lambda, problem.tau);
    rss = residualSumOfSquares(problem, solver.theta);
    const next = bestVariance(n, rss);
    const change = next - lambda;
    if (Math.abs(change) <= 1e-12 * lambda || next <= SIGMA_FLOOR * SIGMA_FLOOR * (1 + 1e-9)) {
      lambda = next;
      break;
    }
    // Newton on h(λ) = σ²(RSS(θ(λ))) − λ, kept only when it goes the way the plain step goes.
    const slope = solver.rssSlope(lambda, problem.tau) / Math.sqrt(n * n + 16 * rss) - 1;
    const newton = slope < 0 ? lambda - change / slope : next;
    lambda = Math.sign(newton - lambda) === Math.sign(change) && newton > 0 ? newton : next;
  }
  if (rounds === MAX_ROUNDS) throw new Error(`the exact MAP solver did not settle σ in ${MAX_ROUNDS} rounds`);
  // θ is optimal for the final λ's predecessor only up to the stopping tolerance: σ from θ exactly.
  solver.solve(lambda, problem.tau);
  rss = residualSumOfSquares(problem, solver.theta);
  const sigma = Math.sqrt(bestVariance(n, rss));
  const { k, m, delta, beta } = parameters(problem, solver.theta);
  const fullDelta = problem.linear ? delta : new Float64Array(data.S);
  return {
    k,
    m,
    sigmaObs: sigma,
    delta: fullDelta,
    beta,
    objective: objectiveOf(problem, solver.theta, sigma, rss),
    rounds: rounds + 1,
    solves: solver.solves,
  };
}

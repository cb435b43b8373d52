/**
 * Attack parameters, declared once per attack (after ART's `attack_params`): each attack module
 * exports a zod object of its algorithm parameters, camelCase as the library takes them, with their
 * ranges and meaning. A required field is one an experiment must state for its results to be
 * self-describing (Square's norm and ε); optional ones have defaults that the attack's resolve()
 * fills in, some against the image size, the norm or targeted-ness.
 *
 * Three consumers derive from the declaration: resolve() validates with it (checkParams), the
 * experiment config builds its snake_case schema from it (tools/experiment/config.ts), and the
 * attack lab builds its "Attack parameters" fields from it (paramFields).
 */
import { z } from 'zod';

export const NORM = z.enum(['l2', 'linf']).describe('threat-model norm');
/**
 * ε in the attack's norm, on pixel values in [0, 1] (0.1 L∞ = 25.5 gray levels; 28 is the L2
 * diameter of a 28×28 image). 0 is allowed: the attack then only re-classifies the clean image.
 */
export const EPS = z.number().min(0).describe('perturbation budget ε in the attack norm (pixels in [0, 1])');
/**
 * The largest ε that still constrains a 28×28 image with pixels in [0, 1]: 1 in L∞, √784 = 28 in L2
 * (the cube's diameter). A larger budget is the same as this one, so the attack lab refuses it.
 */
export const EPS_MAX = { linf: 1, l2: 28 } as const;
export const POS_INT = z.int().min(1);

/**
 * What is wrong with ε for a norm, or null when it lies in [0, EPS_MAX[norm]] ((0, …] without
 * `allowZero`), pixels being in [0, 1]. One check for the attacks' own parameters, the attack lab
 * and the experiment config, so that an ε on the gray-level scale (25 for 0.1) is refused everywhere
 * instead of running as "anything goes" and reporting 100 % success.
 */
export function epsProblem(eps: number, norm: 'l2' | 'linf', allowZero = true): string | null {
  const max = EPS_MAX[norm];
  if (Number.isFinite(eps) && (allowZero ? eps >= 0 : eps > 0) && eps <= max) return null;
  const label = norm === 'linf' ? 'L∞' : 'L2';
  const gray =
    norm === 'linf' && eps > max && eps <= 255
      ? `; ${eps} looks like gray levels, which is ${Number((eps / 255).toFixed(4))} on this scale`
      : '';
  return `ε must be a number in ${allowZero ? '[0' : '(0'}, ${max}] for ${label} (pixels are in [0, 1])${gray}`;
}

export type ParamShape = Record<string, z.ZodType>;
export type ParamSchema = z.ZodObject<ParamShape>;

/**
 * Checks the declared parameters present in `options` (other keys, such as the image, are ignored;
 * every declared parameter is optional here).
 * @throws RangeError naming the attack, the parameter and what is wrong
 */
export function checkParams(attack: string, schema: ParamSchema, options: Record<string, unknown>): void {
  const given: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape)) if (options[k] !== undefined) given[k] = options[k];
  const r = schema.partial().safeParse(given);
  if (r.success) return;
  const issue = r.error.issues[0];
  throw new RangeError(
    `${attack} ${issue.path.join('.')}: ${issue.message}, got ${JSON.stringify(given[String(issue.path[0])])}`,
  );
}

/** One declared parameter as a form field. */
export interface ParamField {
  key: string;
  kind: 'number' | 'integer' | 'enum';
  /** Inclusive bounds (HTML min/max); exclusive ones are still enforced by `accepts`. */
  min?: number;
  max?: number;
  /** Enum choices. */
  options?: readonly string[];
  description?: string;
  /** What a valid value is, in words ("a number in (0, 1]", "a whole number ≥ 1"). */
  range: string;
  /** Whether a value is valid for this parameter (the declared schema's own check). */
  accepts(value: unknown): boolean;
}

/** The declared parameters of a schema as form fields, in declaration order (literals are left out: nothing to choose). */
export function paramFields(schema: ParamSchema): ParamField[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
  };
  const fields: ParamField[] = [];
  for (const [key, s] of Object.entries(json.properties ?? {})) {
    const field = schema.shape[key];
    const accepts = (v: unknown) => field.safeParse(v).success;
    const description = typeof s.description === 'string' ? s.description : undefined;
    if (Array.isArray(s.enum)) {
      const range = `one of ${(s.enum as string[]).join(', ')}`;
      fields.push({ key, kind: 'enum', options: s.enum as string[], description, range, accepts });
    } else if (s.type === 'number' || s.type === 'integer') {
      fields.push({
        key,
        kind: s.type,
        min: bound(s.minimum ?? s.exclusiveMinimum),
        max: bound(s.maximum ?? s.exclusiveMaximum),
        description,
        range: rangeText(s),
        accepts,
      });
    }
  }
  return fields;
}

/** A finite bound of a JSON-schema number (zod writes ±MAX_SAFE_INTEGER for "none"). */
const bound = (v: unknown) =>
  typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;

/** "a number in (0, 1]", "a whole number ≥ 1", "a number > 1" from a JSON-schema number. */
function rangeText(s: Record<string, unknown>): string {
  const what = s.type === 'integer' ? 'a whole number' : 'a number';
  const lo = bound(s.minimum) ?? bound(s.exclusiveMinimum);
  const hi = bound(s.maximum) ?? bound(s.exclusiveMaximum);
  const loIn = bound(s.minimum) !== undefined;
  const hiIn = bound(s.maximum) !== undefined;
  if (lo !== undefined && hi !== undefined)
    return `${what} in ${loIn ? '[' : '('}${lo}, ${hi}${hiIn ? ']' : ')'}`;
  if (lo !== undefined) return `${what} ${loIn ? '≥' : '>'} ${lo}`;
  if (hi !== undefined) return `${what} ${hiIn ? '≤' : '<'} ${hi}`;
  return what;
}

/** `pInit` → `p_init`, `updateStatsEveryK` → `update_stats_every_k` (the experiment config's names). */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The threat model of a white-box attack's options: checks the declared parameters (the first
 * problem as a RangeError naming the attack and the field), then the norm (default L∞) and ε
 * (default 0.1 for L∞, 1.5 for L2, each checked by epsProblem).
 */
export function resolveThreatModel(
  attack: string,
  schema: ParamSchema,
  o: { norm?: 'l2' | 'linf'; eps?: number },
): { norm: 'l2' | 'linf'; eps: number } {
  const r = schema.partial().safeParse(o);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RangeError(`${attack} ${issue.path.join('.')}: ${issue.message}`);
  }
  const norm = o.norm ?? 'linf';
  const eps = o.eps ?? (norm === 'linf' ? 0.1 : 1.5);
  const wrong = epsProblem(eps, norm);
  if (wrong) throw new RangeError(`${attack}: ${wrong}, got ${eps}`);
  return { norm, eps };
}

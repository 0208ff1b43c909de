/**
 * Identity matching (seed 000, "Identity Matching" and "Identity Matching Rules"): decides which
 * person of an authentic source a presented identity (from a PID, or `POST /identity/mapping`)
 * is, by comparing it with the identities stored on documents. Pure: no database, no HTTP; the
 * caller loads the candidates and maps the result to the API (`no_match` and `ambiguous` become
 * IDENTITY_MISMATCH 403, `invalid` becomes INVALID_FORMAT 400).
 *
 * "The matching algorithm compares: schema (required), family_name (required), given_name
 * (required), birth_date (required)" and "the version must match the version used when the
 * document was uploaded". The rules, configured under `identity_matching`:
 *
 * - `schema` ({name, version}) is always required on the presented identity. When a stored
 *   identity carries a schema, name AND version must be equal (case-sensitive). A stored identity
 *   uploaded without a schema accepts any presented schema: the source did not say which schema
 *   its attributes follow, so there is nothing to hold the presentation to.
 * - Every attribute in `required_attributes` must be on the presented identity (otherwise the
 *   result is `invalid`, one error per missing path) and on the stored identity (otherwise that
 *   stored identity cannot match). Attributes that are not required are not compared.
 * - Date attributes (`birth_date` and any name ending in `_date`) are normalised to ISO 8601 with
 *   `date_formats` on both sides and must be equal. Dates are never fuzzy: a birth date one day
 *   off is another person.
 * - Every other required attribute is compared as a name, after {@link normalizeName}. Equal
 *   names score 1; with `fuzzy_matching.enabled`, a Jaro-Winkler similarity at or above
 *   `fuzzy_matching.threshold` also matches and scores that similarity. An identity's score is
 *   the lowest of its attribute scores.
 * - Several stored identities may belong to one person (the same `authentic_source_person_id` on
 *   several documents). Matches are counted per distinct person; two or more distinct persons is
 *   `ambiguous`, even when one scores higher, because guessing would hand one person's document to
 *   another. A stored identity without a person id counts as a person of its own.
 */
import { normalizeDate } from './date-normalization';
import { jaroWinkler, normalizeName } from './name-similarity';

/** The `identity_matching` configuration (see `IdentityMatchingSchema` in src/config/file-schema.ts). */
export interface MatchingRules {
  required_attributes: string[];
  fuzzy_matching: { enabled: boolean; threshold: number };
  /** Go reference-time layouts, tried in order; see `normalizeDate`. */
  date_formats: string[];
}

/** The identity presented for matching, e.g. the `identity` of `POST /identity/mapping`. */
export interface PresentedIdentity {
  schema?: { name: string; version: string };
  [attribute: string]: unknown;
}

/** A stored identity to match against. */
export interface CandidatePerson {
  /** The source's `authentic_source_person_id`, when it gave one. */
  personId: string | null;
  /** The stored identity as uploaded; may carry `schema`. */
  identity: Record<string, unknown>;
}

export type MatchResult =
  /** One person matched; `candidateIndex` is that person's best-scoring stored identity. */
  | { kind: 'match'; personId: string | null; score: number; candidateIndex: number }
  /** Nobody matched; `reason` names the rules that failed, never stored values or scores. */
  | { kind: 'no_match'; reason: string }
  /** Two or more distinct persons matched, in candidate order. */
  | { kind: 'ambiguous'; personIds: (string | null)[] }
  /** The presented identity lacks the schema or a required attribute, or has an unparseable date. */
  | { kind: 'invalid'; errors: { path: string; message: string }[] };

/** Attributes compared as dates: `birth_date` and any attribute whose name ends in `_date`. */
export const isDateAttribute = (attribute: string) => attribute === 'birth_date' || attribute.endsWith('_date');

/** Attributes that may match fuzzily: names (`family_name`, `given_name`, `birth_family_name`, ...). */
export const isNameAttribute = (attribute: string) => attribute.endsWith('_name');

/**
 * Scores within this distance below the threshold still pass: Jaro-Winkler is computed in
 * floating point, and a similarity that is exactly the threshold (LENA/LINA is 0.85) must not
 * fail on rounding.
 */
const SCORE_EPSILON = 1e-9;

/** A presented attribute after normalisation, ready to compare with every candidate. */
type Normalized = { attribute: string; kind: 'date' | 'name'; value: string };

type CandidateOutcome = { ok: true; score: number } | { ok: false; reason: string };

/**
 * Matches `presented` against every candidate, synchronously. For candidate lists from the
 * database (up to 10,000) use {@link matchIdentityYielding}, which gives the same result without
 * holding the event loop.
 */
export function matchIdentity(presented: PresentedIdentity, candidates: CandidatePerson[], rules: MatchingRules): MatchResult {
  const prepared = preparePresented(presented, rules);
  if (!prepared.ok) return prepared.result;
  const compare = candidateComparer(prepared.schema, prepared.normalized, rules);
  return decide(candidates, candidates.map((c) => compare(c.identity)));
}

/** Candidates compared between two turns of the event loop by {@link matchIdentityYielding}. */
export const MATCHING_CHUNK = 250;

/**
 * {@link matchIdentity} in chunks of {@link MATCHING_CHUNK} candidates, yielding to the event
 * loop (setImmediate) between chunks, so one request over 10,000 long names does not stall every
 * other request. Same steps, same result.
 */
export async function matchIdentityYielding(presented: PresentedIdentity, candidates: CandidatePerson[], rules: MatchingRules): Promise<MatchResult> {
  const prepared = preparePresented(presented, rules);
  if (!prepared.ok) return prepared.result;
  const compare = candidateComparer(prepared.schema, prepared.normalized, rules);
  const outcomes: CandidateOutcome[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0 && i % MATCHING_CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    outcomes.push(compare(candidates[i]!.identity));
  }
  return decide(candidates, outcomes);
}

type Prepared = { ok: true; schema: { name: string; version: string }; normalized: Normalized[] } | { ok: false; result: MatchResult };

/** Step 1. The presented identity: schema and every required attribute, normalised once. */
function preparePresented(presented: PresentedIdentity, rules: MatchingRules): Prepared {
  const { fuzzy_matching: fuzzy } = rules;
  if (fuzzy.enabled && !(fuzzy.threshold >= 0 && fuzzy.threshold <= 1)) {
    throw new RangeError(`fuzzy_matching.threshold must be within [0, 1], got ${fuzzy.threshold}`);
  }
  // `schema` is always required and compared on its own, whether or not it is listed.
  const attributes = [...new Set(rules.required_attributes)].filter((a) => a !== 'schema');
  const errors: { path: string; message: string }[] = [];
  const schema = readSchema(presented.schema);
  if (schema === undefined) errors.push({ path: 'schema', message: 'is required' });
  else if (typeof schema === 'string') errors.push({ path: 'schema', message: schema });
  const normalized: Normalized[] = [];
  for (const attribute of attributes) {
    const value = presented[attribute];
    if (value === undefined || value === null || value === '') {
      errors.push({ path: attribute, message: 'is required' });
    } else if (typeof value !== 'string') {
      errors.push({ path: attribute, message: 'must be a string' });
    } else if (isDateAttribute(attribute)) {
      const date = normalizeDate(value, rules.date_formats);
      if (date === undefined) {
        errors.push({ path: attribute, message: `is not a calendar date in ISO 8601 or a configured format (${rules.date_formats.join(', ')})` });
      } else normalized.push({ attribute, kind: 'date', value: date });
    } else {
      const name = normalizeName(value);
      if (name === '') errors.push({ path: attribute, message: 'must contain letters or digits' });
      else normalized.push({ attribute, kind: 'name', value: name });
    }
  }
  if (errors.length > 0 || typeof schema !== 'object') return { ok: false, result: { kind: 'invalid', errors } };
  return { ok: true, schema, normalized };
}

/**
 * Step 3. Matches grouped by person; a candidate without a person id is a person of its own.
 * With no candidates at all the result is `no_match`.
 */
function decide(candidates: CandidatePerson[], outcomes: CandidateOutcome[]): MatchResult {
  if (candidates.length === 0) return { kind: 'no_match', reason: 'no stored identity to compare with' };
  const persons = new Map<string, { personId: string | null; score: number; candidateIndex: number }>();
  outcomes.forEach((outcome, candidateIndex) => {
    if (!outcome.ok) return;
    const { personId } = candidates[candidateIndex]!;
    const key = personId === null ? `#${candidateIndex}` : `=${personId}`;
    const best = persons.get(key);
    if (!best || outcome.score > best.score) persons.set(key, { personId, score: outcome.score, candidateIndex });
  });
  const matched = [...persons.values()];
  if (matched.length === 1) return { kind: 'match', ...matched[0]! };
  if (matched.length > 1) return { kind: 'ambiguous', personIds: matched.sort((a, b) => a.candidateIndex - b.candidateIndex).map((p) => p.personId) };
  return { kind: 'no_match', reason: summarize(outcomes) };
}

/** The schema reference, undefined when absent, or an error message when malformed. */
function readSchema(value: unknown): { name: string; version: string } | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') return 'must be an object with name and version';
  const { name, version } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') {
    return 'must have a non-empty name and version';
  }
  return { name, version };
}

/**
 * Step 2, every candidate on its own. Stored values repeat across candidates (one birth date for
 * all, the same person on several documents), so their normalisations are memoised for the call.
 */
function candidateComparer(schema: { name: string; version: string }, presented: Normalized[], rules: MatchingRules): (stored: Record<string, unknown>) => CandidateOutcome {
  const dates = new Map<string, string | undefined>();
  const names = new Map<string, string>();
  const memo = <V>(cache: Map<string, V>, raw: string, compute: (raw: string) => V): V => {
    if (cache.has(raw)) return cache.get(raw) as V;
    const value = compute(raw);
    if (cache.size < 20_000) cache.set(raw, value);
    return value;
  };
  return (stored) =>
    compareCandidate(schema, presented, stored, rules, (raw) => memo(dates, raw, (r) => normalizeDate(r, rules.date_formats)), (raw) => memo(names, raw, normalizeName));
}

function compareCandidate(
  schema: { name: string; version: string },
  presented: Normalized[],
  stored: Record<string, unknown>,
  rules: MatchingRules,
  toDate: (raw: string) => string | undefined,
  toName: (raw: string) => string,
): CandidateOutcome {
  if (stored.schema !== undefined) {
    const storedSchema = readSchema(stored.schema);
    // A malformed stored schema fails closed.
    if (typeof storedSchema !== 'object') return { ok: false, reason: 'schema differs' };
    if (storedSchema.name !== schema.name) return { ok: false, reason: 'schema name differs' };
    if (storedSchema.version !== schema.version) return { ok: false, reason: 'schema version differs' };
  }
  let score = 1;
  for (const { attribute, kind, value } of presented) {
    const raw = stored[attribute];
    if (typeof raw !== 'string') return { ok: false, reason: `${attribute} missing on the stored identity` };
    if (kind === 'date') {
      const date = toDate(raw);
      if (date === undefined) return { ok: false, reason: `${attribute} unreadable on the stored identity` };
      if (date !== value) return { ok: false, reason: `${attribute} differs` };
      continue;
    }
    const name = toName(raw);
    if (name === '') return { ok: false, reason: `${attribute} missing on the stored identity` };
    if (name === value) continue;
    // Fuzzy matching is for names (typos, transliterations); identifiers and other attributes are exact.
    const fuzzy = rules.fuzzy_matching.enabled && isNameAttribute(attribute);
    const similarity = fuzzy ? jaroWinkler(value, name) : 0;
    if (!fuzzy || similarity < rules.fuzzy_matching.threshold - SCORE_EPSILON) {
      return { ok: false, reason: `${attribute} differs` };
    }
    score = Math.min(score, similarity);
  }
  return { ok: true, score };
}

/** "2 stored identities compared: birth_date differs (1), schema version differs (1)". */
function summarize(outcomes: CandidateOutcome[]): string {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) if (!outcome.ok) counts.set(outcome.reason, (counts.get(outcome.reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${reason} (${n})`);
  return `${outcomes.length} stored ${outcomes.length === 1 ? 'identity' : 'identities'} compared: ${parts.join(', ')}`;
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeDate, parseGoLayout, validateLayout } from '../../src/identity/date-normalization';
import { type CandidatePerson, type MatchingRules, type MatchResult, type PresentedIdentity, matchIdentity, matchIdentityYielding } from '../../src/identity/identity-matching';
import { jaro, jaroWinkler, normalizeName } from '../../src/identity/name-similarity';

/** The `identity_matching` example of seed 000 ("Identity Matching Rules"). */
const SEED_RULES: MatchingRules = {
  required_attributes: ['family_name', 'given_name', 'birth_date'],
  fuzzy_matching: { enabled: true, threshold: 0.85 },
  date_formats: ['2006-01-02', '02/01/2006', '01/02/2006'],
};
const EU_FIRST = SEED_RULES.date_formats;
const US_FIRST = ['2006-01-02', '01/02/2006', '02/01/2006'];
const SE = { name: 'SE', version: '1.0.0' };

const stored = (identity: Record<string, unknown>, personId: string | null = 'EMP-12345'): CandidatePerson => ({
  personId,
  identity: { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', ...identity },
});
const presented = (identity: Record<string, unknown> = {}): PresentedIdentity => ({
  schema: SE,
  family_name: 'Smith',
  given_name: 'Alice',
  birth_date: '1990-05-15',
  ...identity,
});
const score = (a: string, b: string) => jaroWinkler(normalizeName(a), normalizeName(b));
const describe = (r: MatchResult) => JSON.stringify(r);

test('Jaro-Winkler reproduces the published reference values to 3 decimals (Winkler 1990, p = 0.1, prefix ≤ 4)', () => {
  for (const [a, b, expected] of [
    ['MARTHA', 'MARHTA', 0.961],
    ['DWAYNE', 'DUANE', 0.84],
    ['DIXON', 'DICKSONX', 0.813],
    ['JELLYFISH', 'SMELLYFISH', 0.896],
    ['SAME', 'SAME', 1],
    ['ABC', 'XYZ', 0],
    ['', '', 1],
    ['A', '', 0],
  ] as const) {
    assert.equal(Number(jaroWinkler(a, b).toFixed(3)), expected, `${a}/${b}`);
    assert.equal(jaroWinkler(a, b), jaroWinkler(b, a), `${a}/${b} is symmetric`);
  }
});

test('names are normalised for Unicode, diacritics, special letters, case, spacing, hyphens and apostrophes (seed 000, Identity Matching)', () => {
  for (const [input, expected] of [
    ['Müller', 'muller'],
    ['MU\u0308LLER', 'muller'], // decomposed ü
    ['Åsa', 'asa'],
    ['Ørsted', 'orsted'],
    ['Straße', 'strasse'],
    ['ÆSIR', 'aesir'],
    ['Łukasz', 'lukasz'],
    ['Þór', 'thor'],
    ['Đorđe', 'dorde'],
    ['Œuvre', 'oeuvre'],
    ['Ｓｍｉｔｈ', 'smith'], // full-width, folded by NFKC
    ['  Anna-Karin  ', 'anna karin'],
    ['Anna\u2013Karin', 'anna karin'], // en dash
    ['anna  \t karin', 'anna karin'],
    ["O'Brien", 'o brien'],
    ['O\u2019Brien', 'o brien'],
    ['St. John_Smith', 'st john smith'],
  ] as const) {
    assert.equal(normalizeName(input), expected, input);
  }
});

test('date layouts are read in configured order, so order decides between European and US dates (seed 000, Identity Matching Rules)', () => {
  for (const [value, layouts, expected] of [
    ['1990-05-15', EU_FIRST, '1990-05-15'],
    ['15/05/1990', EU_FIRST, '1990-05-15'], // only the European layout gives a month ≤ 12
    ['05/15/1990', EU_FIRST, '1990-05-15'], // not European (month 15): falls through to US
    ['03/04/1990', EU_FIRST, '1990-04-03'], // both read it; European is listed first
    ['03/04/1990', US_FIRST, '1990-03-04'], // US listed first
    [' 15/05/1990 ', EU_FIRST, '1990-05-15'],
    ['1990-05-15', ['02/01/2006'], '1990-05-15'], // ISO 8601 is always accepted
    ['5/7/1990', ['2/1/2006'], '1990-07-05'], // one-digit day and month
    ['05/07/1990', ['2/1/2006'], '1990-07-05'],
    ['15 May 1990', ['2 Jan 2006'], '1990-05-15'],
    ['15 may  1990', ['2 Jan 2006'], '1990-05-15'], // names are case-insensitive; a space run matches a space run
    ['September 9, 1990', ['January 2, 2006'], '1990-09-09'],
    ['19900515', ['20060102'], '1990-05-15'],
    ['2000-02-29', EU_FIRST, '2000-02-29'], // leap year
  ] as const) {
    assert.equal(normalizeDate(value, layouts), expected, `${value} with ${layouts.join(' > ')}`);
  }
});

test('values that are not real calendar dates in any configured layout are refused (seed 000, Identity Matching Rules)', () => {
  for (const value of ['1990-02-30', '1990-13-01', '1990-00-10', '1990-05-00', '1900-02-29', '30/02/1990', '13/13/1990', '15.05.1990', '5/15/1990', '1990-5-15', '90-05-15', '1990-05-15T00:00:00Z', '1990-05-15x', 'yesterday', '']) {
    assert.equal(normalizeDate(value, EU_FIRST), undefined, value);
  }
});

test('a date layout with an unknown or missing element is refused when configuration loads', () => {
  for (const layout of ['2006-01-02', '02/01/2006', '01/02/2006', '2/1/2006', '2 Jan 2006', 'January 2, 2006', '20060102', '02.01.2006']) {
    assert.equal(validateLayout(layout), undefined, layout);
  }
  for (const [layout, fragment] of [
    ['2006-01-02 15:04', '"15" (hour)'],
    ['02/01/06', 'two-digit year'],
    ['Mon Jan 2 2006', 'weekday'],
    ['2006-01-02Z07:00', 'time zone'],
    ['_2/01/2006', 'space-padded day'],
    ['2006-002', 'day of year'],
    ['YYYY-MM-DD', 'unknown element "Y"'],
    ['2006-01', 'needs a day'],
    ['2006-01-01', 'more than one month'],
    ['01/02', 'needs a year'],
  ] as const) {
    const error = validateLayout(layout) ?? '';
    assert.ok(error.includes(fragment), `${layout}: ${error}`);
    assert.ok(error.includes(`"${layout}"`), 'the message names the layout');
  }
  assert.throws(() => normalizeDate('1990-05-15', ['YYYY-MM-DD']), /unknown element/);
  assert.equal(parseGoLayout('2006-01-02').ok, true);
});

// Boundary pairs for the seed's threshold 0.85, scored on normalised names.
const ABOVE = { stored: 'Sophia', presented: 'Sofia', score: score('Sophia', 'Sofia') }; // 0.858
const AT = { stored: 'Lina', presented: 'Lena', score: score('Lina', 'Lena') }; // 0.850
const BELOW = { stored: 'Duane', presented: 'Dwayne', score: score('Duane', 'Dwayne') }; // 0.840

test(`the threshold boundary examples sit where the tests claim: ${ABOVE.presented}/${ABOVE.stored} ${ABOVE.score.toFixed(4)}, ${AT.presented}/${AT.stored} ${AT.score.toFixed(4)}, ${BELOW.presented}/${BELOW.stored} ${BELOW.score.toFixed(4)}`, () => {
  assert.ok(ABOVE.score > 0.85 && ABOVE.score < 0.86);
  assert.ok(Math.abs(AT.score - 0.85) < 1e-9);
  assert.ok(BELOW.score < 0.85 && BELOW.score > 0.83);
});

type Case = { name: string; presented: PresentedIdentity; candidates: CandidatePerson[]; rules?: MatchingRules; expected: MatchResult | MatchResult['kind'] };

const CASES: Case[] = [
  // Positives: normalisation.
  { name: 'the seed example matches exactly with score 1', presented: presented(), candidates: [stored({})], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  { name: 'Müller matches Muller (diacritics)', presented: presented({ family_name: 'Muller' }), candidates: [stored({ family_name: 'Müller' })], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  { name: 'Åsa matches Asa (diacritics)', presented: presented({ given_name: 'Åsa' }), candidates: [stored({ given_name: 'Asa' })], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  { name: 'Ørsted matches Orsted (special letter folded)', presented: presented({ family_name: 'ØRSTED' }), candidates: [stored({ family_name: 'Orsted' })], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  { name: 'case and spacing do not matter', presented: presented({ family_name: '  SMITH ', given_name: 'alice' }), candidates: [stored({})], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  { name: 'Anna-Karin matches Anna Karin (hyphenated double name)', presented: presented({ given_name: 'Anna-Karin' }), candidates: [stored({ given_name: 'Anna  Karin' })], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 0 } },
  // Positives and negatives: dates.
  { name: 'a European 15/05/1990 matches a stored 1990-05-15', presented: presented({ birth_date: '15/05/1990' }), candidates: [stored({})], expected: 'match' },
  { name: 'a US 05/15/1990 matches a stored 1990-05-15', presented: presented({ birth_date: '05/15/1990' }), candidates: [stored({})], expected: 'match' },
  { name: 'a stored European date matches a presented US date of the same day', presented: presented({ birth_date: '05/15/1990' }), candidates: [stored({ birth_date: '15/05/1990' })], expected: 'match' },
  { name: '03/04/1990 is 3 April with the European layout first', presented: presented({ birth_date: '03/04/1990' }), candidates: [stored({ birth_date: '1990-04-03' })], expected: 'match' },
  { name: '03/04/1990 is not 4 March with the European layout first', presented: presented({ birth_date: '03/04/1990' }), candidates: [stored({ birth_date: '1990-03-04' })], expected: 'no_match' },
  { name: '03/04/1990 is 4 March with the US layout first', presented: presented({ birth_date: '03/04/1990' }), candidates: [stored({ birth_date: '1990-03-04' })], rules: { ...SEED_RULES, date_formats: US_FIRST }, expected: 'match' },
  { name: 'a birth date one day off never matches, even with identical names and fuzzy matching on', presented: presented({ birth_date: '1990-05-16' }), candidates: [stored({})], expected: 'no_match' },
  { name: 'a birth date one day off never matches in another layout either', presented: presented({ birth_date: '16/05/1990' }), candidates: [stored({})], expected: 'no_match' },
  { name: 'a stored date that no layout reads cannot match', presented: presented(), candidates: [stored({ birth_date: '15.05.1990' })], expected: 'no_match' },
  // Fuzzy names around the threshold.
  { name: `${ABOVE.presented}/${ABOVE.stored} scores ${ABOVE.score.toFixed(4)} ≥ 0.85 and matches with that score`, presented: presented({ given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored })], expected: { kind: 'match', personId: 'EMP-12345', score: ABOVE.score, candidateIndex: 0 } },
  { name: `${AT.presented}/${AT.stored} scores ${AT.score.toFixed(4)}, exactly the threshold, and matches`, presented: presented({ given_name: AT.presented }), candidates: [stored({ given_name: AT.stored })], expected: 'match' },
  { name: `${BELOW.presented}/${BELOW.stored} scores ${BELOW.score.toFixed(4)} < 0.85 and does not match`, presented: presented({ given_name: BELOW.presented }), candidates: [stored({ given_name: BELOW.stored })], expected: 'no_match' },
  { name: `with fuzzy matching disabled ${ABOVE.presented}/${ABOVE.stored} (${ABOVE.score.toFixed(4)}) does not match`, presented: presented({ given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored })], rules: { ...SEED_RULES, fuzzy_matching: { enabled: false, threshold: 0.85 } }, expected: 'no_match' },
  { name: `with threshold 0.86 ${ABOVE.presented}/${ABOVE.stored} (${ABOVE.score.toFixed(4)}) does not match`, presented: presented({ given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored })], rules: { ...SEED_RULES, fuzzy_matching: { enabled: true, threshold: 0.86 } }, expected: 'no_match' },
  { name: 'the score is the lowest attribute score (Smyth/Smith and Sofia/Sophia)', presented: presented({ family_name: 'Smyth', given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored })], expected: { kind: 'match', personId: 'EMP-12345', score: Math.min(ABOVE.score, score('Smyth', 'Smith')), candidateIndex: 0 } },
  // Schema.
  { name: 'a different schema name does not match', presented: presented({ schema: { name: 'NO', version: '1.0.0' } }), candidates: [stored({})], expected: 'no_match' },
  { name: 'a different schema version does not match', presented: presented({ schema: { name: 'SE', version: '1.1.0' } }), candidates: [stored({})], expected: 'no_match' },
  { name: 'a stored identity without schema accepts any presented schema', presented: presented({ schema: { name: 'NO', version: '2' } }), candidates: [stored({ schema: undefined })], expected: 'match' },
  // Invalid presentations.
  { name: 'a presented identity without schema is invalid', presented: presented({ schema: undefined }), candidates: [stored({})], expected: { kind: 'invalid', errors: [{ path: 'schema', message: 'is required' }] } },
  { name: 'each missing required attribute is listed', presented: presented({ given_name: undefined, birth_date: '' }), candidates: [stored({})], expected: { kind: 'invalid', errors: [{ path: 'given_name', message: 'is required' }, { path: 'birth_date', message: 'is required' }] } },
  { name: 'a configured extra required attribute must be presented', presented: presented(), candidates: [stored({ birth_place: 'Uppsala' })], rules: { ...SEED_RULES, required_attributes: [...SEED_RULES.required_attributes, 'birth_place'] }, expected: { kind: 'invalid', errors: [{ path: 'birth_place', message: 'is required' }] } },
  { name: 'a presented 1990-02-30 is invalid', presented: presented({ birth_date: '1990-02-30' }), candidates: [stored({})], expected: 'invalid' },
  { name: 'a presented month 13 is invalid', presented: presented({ birth_date: '13/13/1990' }), candidates: [stored({})], expected: 'invalid' },
  { name: 'a name of punctuation only is invalid', presented: presented({ family_name: ' - ' }), candidates: [stored({})], expected: 'invalid' },
  // Candidates and persons.
  { name: 'a stored identity without a required attribute cannot match', presented: presented({ birth_place: 'Uppsala' }), candidates: [stored({})], rules: { ...SEED_RULES, required_attributes: [...SEED_RULES.required_attributes, 'birth_place'] }, expected: 'no_match' },
  { name: 'no stored identities is no match', presented: presented(), candidates: [], expected: 'no_match' },
  { name: 'the same person on two documents is a single match with the better score', presented: presented({ given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored }), stored({ given_name: 'Sofia' })], expected: { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 1 } },
  { name: 'two distinct persons matching is ambiguous, even when one scores higher', presented: presented({ given_name: ABOVE.presented }), candidates: [stored({ given_name: ABOVE.stored }, 'EMP-1'), stored({ given_name: 'Sofia' }, 'EMP-2'), stored({ given_name: 'Bob' }, 'EMP-3')], expected: { kind: 'ambiguous', personIds: ['EMP-1', 'EMP-2'] } },
  { name: 'two matching identities without person id are two persons, so ambiguous', presented: presented(), candidates: [stored({}, null), stored({}, null)], expected: { kind: 'ambiguous', personIds: [null, null] } },
  { name: 'one matching identity without person id is a match for an unnamed person', presented: presented(), candidates: [stored({ birth_date: '1990-05-16' }, 'EMP-9'), stored({}, null)], expected: { kind: 'match', personId: null, score: 1, candidateIndex: 1 } },
  { name: 'non-matching candidates do not make a match ambiguous', presented: presented(), candidates: [stored({ schema: { name: 'SE', version: '0.9' } }, 'EMP-1'), stored({}, 'EMP-2'), stored({ family_name: 'Jones' }, 'EMP-3')], expected: { kind: 'match', personId: 'EMP-2', score: 1, candidateIndex: 1 } },
];

for (const c of CASES) {
  test(`identity matching (seed 000, Identity Matching): ${c.name}`, () => {
    const result = matchIdentity(c.presented, c.candidates, c.rules ?? SEED_RULES);
    if (typeof c.expected === 'string') assert.equal(result.kind, c.expected, describe(result));
    else assert.deepEqual(result, c.expected);
  });
}

test('a no-match reason names the failed rules without revealing stored values or scores (seed 000, Identity Matching)', () => {
  const result = matchIdentity(presented({ given_name: BELOW.presented }), [stored({ given_name: BELOW.stored }), stored({ schema: { name: 'SE', version: '2.0.0' } }), stored({ given_name: BELOW.presented, birth_date: '1990-05-16' })], SEED_RULES);
  assert.deepEqual(result, { kind: 'no_match', reason: '3 stored identities compared: given_name differs (1), schema version differs (1), birth_date differs (1)' });
});

test('an invalid presentation reports every problem at once with its path', () => {
  const result = matchIdentity({ family_name: 'Smith', birth_date: '31/04/1990', given_name: 42 }, [stored({})], SEED_RULES);
  assert.equal(result.kind, 'invalid');
  assert.deepEqual(
    result.kind === 'invalid' && result.errors.map((e) => e.path),
    ['schema', 'given_name', 'birth_date'],
  );
});

/** The textbook O(|a| x window) Jaro, as the matcher computed it before: the reference for the linear one. */
function referenceJaro(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0 && t.length === 0) return 1;
  if (s.length === 0 || t.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1);
  const sMatched = new Array<boolean>(s.length).fill(false);
  const tMatched = new Array<boolean>(t.length).fill(false);
  let matches = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = Math.max(0, i - window); j <= Math.min(t.length - 1, i + window); j++) {
      if (tMatched[j] || s[i] !== t[j]) continue;
      sMatched[i] = tMatched[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let outOfOrder = 0;
  for (let i = 0, k = 0; i < s.length; i++) {
    if (!sMatched[i]) continue;
    while (!tMatched[k]) k++;
    if (s[i] !== t[k++]) outOfOrder++;
  }
  return (matches / s.length + matches / t.length + (matches - outOfOrder / 2) / matches) / 3;
}

/** Deterministic pseudo-random strings over a small alphabet, so repeated letters and transpositions are common. */
function* randomPairs(count: number): Generator<[string, string]> {
  let x = 42;
  const next = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
  const word = () => Array.from({ length: next() % 24 }, () => 'abcdeåü'[next() % 7]).join('');
  for (let i = 0; i < count; i++) yield [word(), word()];
}

test('the linear-time Jaro gives exactly the textbook greedy result (20,000 random pairs, repeated letters, characters outside the BMP)', () => {
  for (const [a, b] of randomPairs(20_000)) assert.equal(jaro(a, b), referenceJaro(a, b), `${a}/${b}`);
  for (const [a, b] of [['MARTHA', 'MARHTA'], ['DIXON', 'DICKSONX'], ['aaaa', 'aa'], ['abab', 'baba'], ['😀a😀', 'a😀😀']]) assert.equal(jaro(a!, b!), referenceJaro(a!, b!), `${a}/${b}`);
});

test('matching 10,000 candidates with 256-character names yields the event loop and gives the synchronous result (issue 15, finding 10)', async () => {
  let x = 7;
  const name = () => Array.from({ length: 256 }, () => String.fromCharCode(97 + ((x = (x * 1103515245 + 12345) & 0x7fffffff) % 26))).join('');
  const candidates = Array.from({ length: 10_000 }, (_, i) => stored({ family_name: name(), given_name: name() }, `P-${i}`));
  candidates.push(stored({}, 'EMP-12345'));
  let longestStall = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longestStall = Math.max(longestStall, now - last);
    last = now;
  }, 1);
  try {
    const yielding = await matchIdentityYielding(presented(), candidates, SEED_RULES);
    assert.deepEqual(yielding, { kind: 'match', personId: 'EMP-12345', score: 1, candidateIndex: 10_000 });
    assert.deepEqual(yielding, matchIdentity(presented(), candidates, SEED_RULES));
  } finally {
    clearInterval(ticker);
  }
  assert.ok(longestStall < 500, `the event loop stalled ${Math.round(longestStall)} ms`);
});

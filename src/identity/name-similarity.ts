/**
 * Name normalisation and similarity for identity matching (seed 000, "Identity Matching"): a PID
 * presented by a wallet and the identity an authentic source uploaded spell the same person's
 * name with different case, diacritics, spacing and hyphenation.
 */

/**
 * Letters that Unicode does not decompose into a base letter plus a combining mark, folded to
 * their usual Latin transliteration (applied after lowercasing, so Æ, Ø, ẞ, ... fold too).
 */
const SPECIAL_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  œ: 'oe',
  ı: 'i',
};
const SPECIAL_LETTER = new RegExp(`[${Object.keys(SPECIAL_LETTERS).join('')}]`, 'gu');

/**
 * Separators inside names: hyphens and dashes (any Unicode dash punctuation), apostrophes
 * (ASCII, typographic, modifier letter, backtick), full stops and underscores.
 */
const SEPARATORS = /[\p{Pd}'\u2018\u2019\u02BC\u0060._]/gu;

/**
 * Normalises a name for comparison:
 * 1. Unicode NFKC (compatibility forms: full-width letters, ligatures such as "ﬁ"), then NFD;
 * 2. combining marks removed, so diacritics go (Müller → Muller, Åsa → Asa, Ñ → N);
 * 3. lowercase, then special letters folded (ß → ss, æ → ae, ø → o, đ/ð → d, ł → l, þ → th, œ → oe);
 * 4. hyphens, apostrophes, dots and underscores become spaces (Anna-Karin → anna karin,
 *    O'Brien → o brien, St. John → st john);
 * 5. whitespace collapsed to single spaces and trimmed.
 */
export function normalizeName(name: string): string {
  return name
    .normalize('NFKC')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(SPECIAL_LETTER, (c) => SPECIAL_LETTERS[c] ?? c)
    .replace(SEPARATORS, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Winkler's prefix scale p: how much each common leading character raises the score. */
export const JARO_WINKLER_PREFIX_SCALE = 0.1;
/** Winkler's cap on the common prefix length that earns the bonus. */
export const JARO_WINKLER_MAX_PREFIX = 4;

/**
 * Jaro similarity in [0, 1] over Unicode code points (not UTF-16 units). Characters match when
 * equal and no further apart than floor(max(|a|, |b|) / 2) - 1; t is half the number of matched
 * characters that appear in a different order. jaro = (m/|a| + m/|b| + (m - t)/m) / 3.
 *
 * Linear time: each character of `a` takes the first unmatched equal character of `b` within the
 * window (the usual greedy definition), found with one cursor per distinct character over its
 * positions in `b`. The positions a character takes only ever increase, so the cursor never moves
 * back: O(|a| + |b|) instead of O(|a| x window), which matters when 10,000 stored names of up to
 * 256 characters are compared on the event loop.
 */
export function jaro(a: string, b: string): number {
  return jaroOfCodePoints(Array.from(a), Array.from(b));
}

function jaroOfCodePoints(s: string[], t: string[]): number {
  if (s.length === 0 && t.length === 0) return 1;
  if (s.length === 0 || t.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1);
  const positions = new Map<string, { at: number[]; next: number }>();
  t.forEach((c, j) => {
    const entry = positions.get(c);
    if (entry) entry.at.push(j);
    else positions.set(c, { at: [j], next: 0 });
  });
  const sMatched = new Array<boolean>(s.length).fill(false);
  const tMatched = new Array<boolean>(t.length).fill(false);
  let matches = 0;
  for (let i = 0; i < s.length; i++) {
    const entry = positions.get(s[i]!);
    if (!entry) continue;
    // Positions before the cursor are matched already or left of every later window.
    while (entry.next < entry.at.length && entry.at[entry.next]! < i - window) entry.next++;
    const j = entry.at[entry.next];
    if (j === undefined || j > i + window) continue;
    entry.next++;
    sMatched[i] = true;
    tMatched[j] = true;
    matches++;
  }
  if (matches === 0) return 0;
  let outOfOrder = 0;
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    if (!sMatched[i]) continue;
    while (!tMatched[k]) k++;
    if (s[i] !== t[k]) outOfOrder++;
    k++;
  }
  const transpositions = outOfOrder / 2;
  return (matches / s.length + matches / t.length + (matches - transpositions) / matches) / 3;
}

/**
 * Jaro-Winkler similarity in [0, 1] (Winkler 1990): jaro + l * p * (1 - jaro), with l the length
 * of the common prefix up to {@link JARO_WINKLER_MAX_PREFIX} and p = {@link JARO_WINKLER_PREFIX_SCALE}.
 * As in the usual textbook definition the prefix bonus applies at every Jaro score (no 0.7 boost
 * threshold); for matching thresholds of 0.82 and above the two variants accept the same pairs.
 * Case-sensitive: callers compare {@link normalizeName} output.
 *
 * Reference values: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813.
 */
export function jaroWinkler(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  const j = jaroOfCodePoints(s, t);
  let prefix = 0;
  while (prefix < JARO_WINKLER_MAX_PREFIX && prefix < s.length && prefix < t.length && s[prefix] === t[prefix]) prefix++;
  return j + prefix * JARO_WINKLER_PREFIX_SCALE * (1 - j);
}

/**
 * Date normalisation for identity matching: the `identity_matching.date_formats` of seed 000
 * ("Identity Matching Rules") are Go reference-time layouts (Mon Jan 2 15:04:05 MST 2006), e.g.
 *
 *   date_formats:
 *     - "2006-01-02" # ISO 8601
 *     - "02/01/2006" # European
 *     - "01/02/2006" # US
 *
 * Only the date elements of Go's layout language are supported, with Go's parsing rules
 * (https://pkg.go.dev/time#pkg-constants):
 *
 *   2006     four-digit year, exactly four digits
 *   01 / 1   month, exactly two digits / one or two digits
 *   02 / 2   day of month, exactly two digits / one or two digits
 *   Jan      three-letter month name, case-insensitive ("may", "SEP")
 *   January  full month name, case-insensitive
 *
 * Any other character that is neither a letter nor a digit is a literal separator that the value
 * must repeat exactly; as in Go, a run of spaces in the layout matches a run of spaces in the value.
 * Everything else Go knows (times, zones, weekdays, two-digit years "06", day of year "002", the
 * space-padded day "_2") and any stray letter or digit is refused by {@link validateLayout}, so a
 * configuration typo fails at boot rather than silently never matching.
 */

/** One element of a compiled layout. */
export type LayoutElement =
  | { kind: 'year' }
  | { kind: 'month'; width: 'fixed2' | 'flexible' }
  | { kind: 'day'; width: 'fixed2' | 'flexible' }
  | { kind: 'month_name'; form: 'short' | 'long' }
  | { kind: 'literal'; text: string };

/** A layout checked and split into elements by {@link parseGoLayout}. */
export interface DateLayout {
  readonly source: string;
  readonly elements: readonly LayoutElement[];
}

/** A calendar date; month and day are 1-based. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** The Go layout for ISO 8601 full-date (RFC 3339 `full-date`). */
export const ISO_DATE_LAYOUT = '2006-01-02';

const LONG_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));

/** Go layout elements that name something other than a date, with the reason they are refused. */
const UNSUPPORTED: readonly [prefix: string, what: string][] = [
  ['Monday', 'weekday'],
  ['Mon', 'weekday'],
  ['MST', 'time zone'],
  ['Z07', 'time zone offset'],
  ['-07', 'time zone offset'],
  ['PM', 'AM/PM marker'],
  ['pm', 'AM/PM marker'],
  ['002', 'day of year'],
  ['__2', 'day of year'],
  ['_2', 'space-padded day'],
  ['06', 'two-digit year'],
  ['15', 'hour'],
  ['03', 'hour'],
  ['04', 'minute'],
  ['05', 'second'],
];

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLowerAscii = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

/**
 * Compiles a Go reference-time layout restricted to date elements. The layout must contain
 * exactly one year, one month (numeric or named) and one day.
 */
export function parseGoLayout(layout: string): { ok: true; layout: DateLayout } | { ok: false; error: string } {
  const elements: LayoutElement[] = [];
  const fail = (error: string) => ({ ok: false as const, error: `date layout "${layout}": ${error}` });
  const pushLiteral = (c: string) => {
    const last = elements.at(-1);
    if (last?.kind === 'literal') last.text += c;
    else elements.push({ kind: 'literal', text: c });
  };

  let i = 0;
  while (i < layout.length) {
    const rest = layout.slice(i);
    // Go's own tokeniser (time.nextStdChunk) decides "January" before "Jan", "2006" before "2",
    // and reads "Jan" only when no lowercase letter follows (so "Janet" is not a month).
    if (rest.startsWith('January')) {
      elements.push({ kind: 'month_name', form: 'long' });
      i += 7;
      continue;
    }
    if (rest.startsWith('Jan') && !isLowerAscii(rest[3])) {
      elements.push({ kind: 'month_name', form: 'short' });
      i += 3;
      continue;
    }
    if (rest.startsWith('2006')) {
      elements.push({ kind: 'year' });
      i += 4;
      continue;
    }
    const unsupported = UNSUPPORTED.find(([prefix]) => rest.startsWith(prefix));
    if (unsupported) return fail(`"${unsupported[0]}" (${unsupported[1]}) is not supported in a date layout; use 2006, 01, 1, 02, 2, Jan or January`);
    if (rest.startsWith('01')) {
      elements.push({ kind: 'month', width: 'fixed2' });
      i += 2;
      continue;
    }
    if (rest.startsWith('02')) {
      elements.push({ kind: 'day', width: 'fixed2' });
      i += 2;
      continue;
    }
    if (rest[0] === '1') {
      elements.push({ kind: 'month', width: 'flexible' });
      i += 1;
      continue;
    }
    if (rest[0] === '2') {
      elements.push({ kind: 'day', width: 'flexible' });
      i += 1;
      continue;
    }
    const c = String.fromCodePoint(rest.codePointAt(0) ?? 0);
    if (isDigit(c) || isLetter(c)) {
      return fail(`unknown element "${c}" at position ${i + 1}; use 2006, 01, 1, 02, 2, Jan or January and separators such as - / . or space`);
    }
    pushLiteral(c);
    i += c.length;
  }

  const count = (kinds: LayoutElement['kind'][]) => elements.filter((e) => kinds.includes(e.kind)).length;
  for (const [what, kinds] of [
    ['year (2006)', ['year']],
    ['month (01, 1, Jan or January)', ['month', 'month_name']],
    ['day (02 or 2)', ['day']],
  ] as const) {
    const n = count([...kinds]);
    if (n === 0) return fail(`needs a ${what}`);
    if (n > 1) return fail(`has more than one ${what}`);
  }
  return { ok: true, layout: { source: layout, elements } };
}

/** Checks a configured layout; returns an error message, or undefined when the layout is usable. */
export function validateLayout(layout: string): string | undefined {
  const parsed = parseGoLayout(layout);
  return parsed.ok ? undefined : parsed.error;
}

const daysInMonth = (year: number, month: number) =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** Drops a leading run of spaces (Go's time.cutspace). */
const cutSpaces = (s: string) => s.replace(/^ +/, '');

/** Reads one or two digits (Go's getnum); `fixed` demands exactly two. */
function readNumber(value: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(value[0])) return undefined;
  if (!isDigit(value[1])) return fixed ? undefined : [Number(value[0]), value.slice(1)];
  return [Number(value.slice(0, 2)), value.slice(2)];
}

/** Matches a month name at the start of value, case-insensitively (Go's time.lookup). */
function readMonthName(value: string, names: readonly string[]): [number, string] | undefined {
  const index = names.findIndex((name) => value.slice(0, name.length).toLowerCase() === name);
  return index < 0 ? undefined : [index + 1, value.slice(names[index]!.length)];
}

/**
 * Parses value with one layout. Returns undefined unless the whole value is consumed and names
 * a real Gregorian calendar date (1990-02-30 and month 13 are refused).
 */
export function parseDate(value: string, layout: DateLayout | string): CalendarDate | undefined {
  const compiled = typeof layout === 'string' ? compileOrThrow(layout) : layout;
  let rest = value;
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  for (const element of compiled.elements) {
    let read: [number, string] | undefined;
    switch (element.kind) {
      case 'literal': {
        // Go's time.skip: a run of spaces in the layout matches a run of spaces in the value.
        let text = element.text;
        while (text.length > 0) {
          if (text[0] === ' ') {
            if (rest.length > 0 && rest[0] !== ' ') return undefined;
            text = cutSpaces(text);
            rest = cutSpaces(rest);
          } else {
            if (rest[0] !== text[0]) return undefined;
            text = text.slice(1);
            rest = rest.slice(1);
          }
        }
        continue;
      }
      case 'year':
        if (!/^\d{4}/.test(rest)) return undefined;
        year = Number(rest.slice(0, 4));
        rest = rest.slice(4);
        continue;
      case 'month':
        read = readNumber(rest, element.width === 'fixed2');
        if (!read) return undefined;
        [month, rest] = read;
        continue;
      case 'month_name':
        read = readMonthName(rest, element.form === 'long' ? LONG_MONTHS : SHORT_MONTHS);
        if (!read) return undefined;
        [month, rest] = read;
        continue;
      case 'day':
        read = readNumber(rest, element.width === 'fixed2');
        if (!read) return undefined;
        [day, rest] = read;
        continue;
    }
  }
  if (rest.length > 0 || year === undefined || month === undefined || day === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** Formats a calendar date as ISO 8601 full-date, YYYY-MM-DD. */
export const formatIsoDate = ({ year, month, day }: CalendarDate) =>
  `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

function compileOrThrow(layout: string): DateLayout {
  const parsed = parseGoLayout(layout);
  // Layouts are validated when the configuration loads; reaching this is a programmer error.
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.layout;
}

/**
 * Normalises a date to ISO 8601 `YYYY-MM-DD`, or undefined when no layout reads it as a real date.
 *
 * The configured layouts are tried IN ORDER and the first that yields a real calendar date wins:
 * order is priority. With the seed's list ("2006-01-02", "02/01/2006", "01/02/2006"), "03/04/1990"
 * is 3 April 1990 because the European layout comes before the US one, while "05/15/1990" cannot
 * be European (no month 15) and falls through to the US layout as 15 May 1990. Operators who want
 * US dates to win list "01/02/2006" first.
 *
 * ISO 8601 input ("1990-05-15") is always accepted: after the configured layouts, "2006-01-02" is
 * tried too when it was not configured. Surrounding whitespace is ignored.
 *
 * @throws Error when a layout is invalid (see {@link validateLayout}); configuration loading
 *   should have refused it.
 */
export function normalizeDate(value: string, layouts: readonly string[]): string | undefined {
  const trimmed = value.trim();
  const ordered = layouts.includes(ISO_DATE_LAYOUT) ? layouts : [...layouts, ISO_DATE_LAYOUT];
  for (const layout of ordered) {
    const date = parseDate(trimmed, compileOrThrow(layout));
    if (date) return formatIsoDate(date);
  }
  return undefined;
}

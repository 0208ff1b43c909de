/**
 * Custom search attributes every business workflow sets, so an operator can find a holder's
 * process in the Temporal UI (DESIGN.md section 7). `dev` and the test harness register them in
 * the namespace; production registers them once with `temporal operator search-attribute create`.
 */
export const SEARCH_ATTRIBUTES = {
  AuthenticSource: 'Keyword',
  Vct: 'Keyword',
  DocumentId: 'Keyword',
  ProcessState: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/contracts/search-attributes';

/** Name → Temporal type of every custom search attribute, as `temporal server start-dev --search-attribute` wants it. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, 'Keyword'] as const));

export type SearchAttributeName = (typeof SEARCH_ATTRIBUTE_KEYS)[number]['name'];

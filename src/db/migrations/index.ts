import * as documents from './0001-documents';
import * as auditLog from './0002-audit-log';
import * as documentLookup from './0004-document-lookup';

/** Every migration, in order. A new migration is a new module appended here. */
export const migrations = [
  { name: '0001-documents', ...documents },
  { name: '0002-audit-log', ...auditLog },
  { name: '0004-document-lookup', ...documentLookup },
];

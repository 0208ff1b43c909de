import * as documents from './0001-documents';
import * as auditLog from './0002-audit-log';

/** Every migration, in order. A new migration is a new module appended here. */
export const migrations = [
  { name: '0001-documents', ...documents },
  { name: '0002-audit-log', ...auditLog },
];

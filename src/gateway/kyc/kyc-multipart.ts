import busboy from 'busboy';
import type { Request } from 'express';
import { InvalidFormatError, UnsupportedMediaTypeError } from '../api-errors';

export interface MultipartFile {
  /** The part's field name (`$document-1`, `file`). */
  name: string;
  content: Buffer;
}

export interface MultipartBody {
  fields: Map<string, string>;
  files: MultipartFile[];
}

/**
 * A multipart/form-data body (RFC 7578) read with busboy, bounded: at most `maxFiles` file parts of
 * `maxFileBytes` each, 20 text fields of 256 KiB. A file over the limit is 400 INVALID_FORMAT
 * naming the part (seed 004 lists 400 for these endpoints); contents stay in memory, never in logs.
 */
export function readMultipart(req: Request, limits: { maxFileBytes: number; maxFiles: number }): Promise<MultipartBody> {
  if (!req.is('multipart/form-data')) return Promise.reject(new UnsupportedMediaTypeError('Request body must be multipart/form-data'));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: 20, fieldSize: 256 * 1024, parts: limits.maxFiles + 20 } });
    } catch {
      return reject(new InvalidFormatError('Malformed multipart/form-data body (missing boundary?)'));
    }
    const fields = new Map<string, string>();
    const files: MultipartFile[] = [];
    let failure: Error | undefined;
    const pending: Promise<void>[] = [];
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) failure ??= new InvalidFormatError(`Part ${name} is too large`, { fields: [{ path: name, message: 'too large' }] });
      fields.set(name, value);
    });
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      pending.push(
        new Promise<void>((done) => {
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('limit', () => {
            failure ??= new InvalidFormatError(`File ${name} is larger than ${limits.maxFileBytes} bytes`, { fields: [{ path: name, message: `larger than ${limits.maxFileBytes} bytes` }] });
          });
          stream.on('end', () => {
            files.push({ name, content: Buffer.concat(chunks) });
            done();
          });
        }),
      );
    });
    parser.on('filesLimit', () => (failure ??= new InvalidFormatError(`At most ${limits.maxFiles} files per request`)));
    parser.on('partsLimit', () => (failure ??= new InvalidFormatError('Too many parts')));
    parser.on('error', () => reject(new InvalidFormatError('Malformed multipart/form-data body')));
    parser.on('close', () => {
      void Promise.all(pending).then(() => (failure ? reject(failure) : resolve({ fields, files })));
    });
    req.pipe(parser);
  });
}

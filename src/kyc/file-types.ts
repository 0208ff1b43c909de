/**
 * The type of an uploaded file by its first bytes (magic numbers), never by its name or the
 * client's Content-Type: PDF (ISO 32000-1 §7.5.2, `%PDF-`), PNG (RFC 2083 §3.1, the 8-byte
 * signature), JPEG (ITU T.81 Annex B, SOI `FF D8` followed by a marker `FF`).
 */
export type KycFileTypeName = 'pdf' | 'png' | 'jpeg';

export const MEDIA_TYPES: Record<KycFileTypeName, string> = { pdf: 'application/pdf', png: 'image/png', jpeg: 'image/jpeg' };

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFileType(content: Uint8Array): KycFileTypeName | undefined {
  const starts = (sig: number[]) => sig.every((b, i) => content[i] === b);
  if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return 'pdf';
  if (starts(PNG)) return 'png';
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  return undefined;
}

export const fileTypeOfMediaType = (mediaType: string): KycFileTypeName | undefined =>
  (Object.entries(MEDIA_TYPES) as [KycFileTypeName, string][]).find(([, m]) => m === mediaType)?.[0];

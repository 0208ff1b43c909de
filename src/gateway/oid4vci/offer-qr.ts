/**
 * The QR code of a credential offer's deep link, as a `data:image/png;base64,...` URL.
 *
 * `qrcode` builds the matrix; the PNG is encoded here rather than by `QRCode.toDataURL`, whose
 * pngjs encoder writes 8-bit RGBA and tries every adaptive row filter on every row (its Paeth and
 * Average filters were ~15 ms of main-thread CPU per pickup in a profile of `npm run dev`). A QR code is
 * two colours, so the image here is a 1-bit grayscale PNG (PNG §11.2.2, colour type 0, bit depth 1),
 * every row with filter type 0 (None, PNG §9.2) and a fast zlib level: about 1 kB, a
 * fraction of a millisecond.
 * PNG specification: https://www.w3.org/TR/png-3/
 */
import { crc32, deflateSync, constants as zlib } from 'node:zlib';
import QRCode from 'qrcode';

export type OfferQrOptions = {
  /** Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4; default 4). */
  margin?: number;
  /** Pixels per module (default 4); ignored when `width` is given. */
  scale?: number;
  /** Target image width in pixels: the largest whole-pixel scale that fits (at least 1). */
  width?: number;
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * Encodes a QR matrix as a 1-bit grayscale PNG: `scale` pixels per module and `margin` light modules
 * around it. Each module row is packed once and copied to its `scale` pixel rows.
 */
function encodeQrPng(modules: { size: number; get(row: number, col: number): number }, margin: number, scale: number): Buffer {
  const side = (modules.size + 2 * margin) * scale;
  const rowBytes = 1 + Math.ceil(side / 8); // the filter-type byte, then 8 pixels per byte, most significant bit first
  const raw = Buffer.alloc(rowBytes * side, 0xff); // grayscale 1 is white, 0 is black
  for (let y = 0; y < side; y++) raw[y * rowBytes] = 0; // filter type 0 (None) on every row
  const packed = Buffer.alloc(rowBytes - 1);
  for (let row = 0; row < modules.size; row++) {
    packed.fill(0xff);
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      for (let x = (col + margin) * scale, end = x + scale; x < end; x++) packed[x >> 3]! &= ~(0x80 >> (x & 7));
    }
    const firstY = (row + margin) * scale;
    for (let y = firstY; y < firstY + scale; y++) packed.copy(raw, y * rowBytes + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, colour type 0 (grayscale), deflate, filter method 0, no interlace
  const idat = deflateSync(raw, { level: 1, strategy: zlib.Z_DEFAULT_STRATEGY });
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** The PNG of `text`'s QR code (error correction level M), as a data URL for `<img src>` or `qr.base64_image`. */
export function offerQrDataUrl(text: string, options: OfferQrOptions = {}): string {
  // One byte-mode segment (ISO/IEC 18004 §7.4.5): the library's search for the shortest mix of
  // segment modes (a Dijkstra over the text) was a third of its time on the notification path, and a
  // deep link is mostly lowercase URL characters, which only byte mode encodes anyway.
  const { modules } = QRCode.create([{ data: Buffer.from(text, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M' });
  const margin = options.margin ?? 4;
  const modulesAcross = modules.size + 2 * margin;
  const scale = options.width ? Math.max(1, Math.floor(options.width / modulesAcross)) : (options.scale ?? 4);
  const png = encodeQrPng(modules, margin, scale);
  return `data:image/png;base64,${png.toString('base64')}`;
}

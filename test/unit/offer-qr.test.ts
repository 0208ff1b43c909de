import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { offerQrDataUrl } from '../../src/gateway/oid4vci/offer-qr';

const deepLink = `openid-credential-offer://?credential_offer_uri=${encodeURIComponent('https://issuer.example.org/offers/3f2b9c0e-6a1d-4c1e-9d7b-2f6b0d8e1a55?t=Qm9ndXMtdG9rZW4tZm9yLWEtdGVzdC1vbmx5LTAxMjM0NTY3')}`;

function decode(dataUrl: string): { text: string | undefined; width: number } {
  const prefix = 'data:image/png;base64,';
  assert.ok(dataUrl.startsWith(prefix), 'a PNG data URL');
  const png = PNG.sync.read(Buffer.from(dataUrl.slice(prefix.length), 'base64'));
  // pngjs expands any PNG colour type to RGBA, which is what jsQR reads.
  return { text: jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data, width: png.width };
}

test('the QR code PNG decodes back to the deep link, with the default scale and quiet zone (ISO/IEC 18004 §6.3.8)', () => {
  const { text, width } = decode(offerQrDataUrl(deepLink));
  assert.equal(text, deepLink);
  const { modules } = QRCode.create([{ data: Buffer.from(deepLink), mode: 'byte' }], { errorCorrectionLevel: 'M' });
  assert.equal(width, (modules.size + 8) * 4, 'four pixels per module and a four-module margin');
});

test('the holder page size (width 360, margin 2) decodes too and stays within the requested width', () => {
  const { text, width } = decode(offerQrDataUrl(deepLink, { width: 360, margin: 2 }));
  assert.equal(text, deepLink);
  assert.ok(width <= 360 && width > 300, `width ${width}`);
});

test('costs less than qrcode.toDataURL per call (printed, not asserted: the machine is shared)', async () => {
  const rounds = 200;
  let t = performance.now();
  for (let i = 0; i < rounds; i++) await QRCode.toDataURL(`${deepLink}${i}`, { errorCorrectionLevel: 'M' });
  const before = (performance.now() - t) / rounds;
  t = performance.now();
  for (let i = 0; i < rounds; i++) offerQrDataUrl(`${deepLink}${i}`);
  const after = (performance.now() - t) / rounds;
  const sizes = [(await QRCode.toDataURL(deepLink, { errorCorrectionLevel: 'M' })).length, offerQrDataUrl(deepLink).length];
  console.log(`QR data URL per call: qrcode.toDataURL ${before.toFixed(2)} ms (${sizes[0]} chars), offerQrDataUrl ${after.toFixed(2)} ms (${sizes[1]} chars)`);
});

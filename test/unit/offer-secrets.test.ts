import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createOfferSecrets } from '../../src/oid4vci/offer-secrets';

const kek = randomBytes(32);
const secrets = createOfferSecrets(kek);

test('the PIN has the configured number of digits and is the same on every derivation (a retried e-mail repeats it)', () => {
  for (const length of [4, 6, 8, 10]) {
    const pin = secrets.pin('offer-abc', length);
    assert.match(pin, new RegExp(`^\\d{${length}}$`));
    assert.equal(secrets.pin('offer-abc', length), pin);
    assert.ok(secrets.pinMatches('offer-abc', pin, length));
    assert.ok(!secrets.pinMatches('offer-abc', `${pin}0`, length), 'a longer input does not match');
  }
  assert.notEqual(secrets.pin('offer-abc', 8), secrets.pin('offer-abd', 8));
});

test('the pre-authorized code is 256 bits of HMAC output, differs per offer and per KEK, and only its hash is needed to find it', () => {
  const code = secrets.preAuthorizedCode('offer-abc');
  assert.match(code, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(secrets.preAuthorizedCode('offer-abd'), code);
  assert.notEqual(createOfferSecrets(randomBytes(32)).preAuthorizedCode('offer-abc'), code);
  assert.match(secrets.codeHash(code), /^[0-9a-f]{64}$/);
  assert.notEqual(secrets.codeHash(code), code);
});

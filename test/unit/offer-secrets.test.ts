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

test('pinMatches refuses a wrong PIN of the same length, one digit off in any position, and PINs of other lengths', () => {
  for (const length of [4, 6, 8]) {
    const pin = secrets.pin('offer-abc', length);
    for (let i = 0; i < length; i++) {
      const digit = (Number(pin[i]) + 1) % 10;
      const wrong = `${pin.slice(0, i)}${digit}${pin.slice(i + 1)}`;
      assert.equal(wrong.length, pin.length);
      assert.ok(!secrets.pinMatches('offer-abc', wrong, length), `${wrong} (position ${i} changed) does not match`);
    }
    assert.ok(!secrets.pinMatches('offer-abc', pin.slice(0, -1), length), 'a shorter prefix does not match');
    assert.ok(!secrets.pinMatches('offer-abc', '', length), 'an empty PIN does not match');
    assert.ok(!secrets.pinMatches('offer-abc', ` ${pin}`.slice(0, length), length), 'a shifted PIN does not match');
  }
  assert.ok(!secrets.pinMatches('offer-abc', secrets.pin('offer-abc', 8), 6), 'the PIN of another length does not match');
});

test('the pre-authorized code is 256 bits of HMAC output, differs per offer and per KEK, and only its hash is needed to find it', () => {
  const code = secrets.preAuthorizedCode('offer-abc');
  assert.match(code, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(secrets.preAuthorizedCode('offer-abd'), code);
  assert.notEqual(createOfferSecrets(randomBytes(32)).preAuthorizedCode('offer-abc'), code);
  assert.match(secrets.codeHash(code), /^[0-9a-f]{64}$/);
  assert.notEqual(secrets.codeHash(code), code);
});

test('the offer URI token is a keyed derivation of the offer id, distinct from the code, so the offer id alone opens nothing', () => {
  const token = secrets.offerUriToken('offer-abc');
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(secrets.offerUriToken('offer-abc'), token, 'a repeated notification gives the same link');
  assert.notEqual(token, secrets.preAuthorizedCode('offer-abc'));
  assert.notEqual(createOfferSecrets(randomBytes(32)).offerUriToken('offer-abc'), token, 'without the server key the token cannot be made');
  assert.match(secrets.uriTokenHash(token), /^[0-9a-f]{64}$/);
});

test('a redemption proof verifies only for its offer and under the server key; a forged or missing one fails', () => {
  const proof = secrets.redemptionProof('offer-abc');
  assert.ok(secrets.redemptionProofMatches('offer-abc', proof));
  assert.ok(!secrets.redemptionProofMatches('offer-abd', proof));
  assert.ok(!secrets.redemptionProofMatches('offer-abc', createOfferSecrets(randomBytes(32)).redemptionProof('offer-abc')));
  for (const forged of [undefined, true, '', 'x'.repeat(43), `${proof}x`]) assert.ok(!secrets.redemptionProofMatches('offer-abc', forged));
});

test('the reference in the PIN e-mail is short and reveals neither the offer id nor its secrets', () => {
  const reference = secrets.offerReference('offer-abc');
  assert.match(reference, /^[0-9A-F]{4}-[0-9A-F]{4}$/);
  assert.equal(secrets.offerReference('offer-abc'), reference);
  assert.ok(!secrets.preAuthorizedCode('offer-abc').includes(reference.replace('-', '')));
});

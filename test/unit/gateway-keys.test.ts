import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deriveKekSubkeys, formatGatewayKeys, gatewaySubkeys, parseGatewayKeys } from '../../src/credentials/kek-subkeys';
import { parseEnv } from '../../src/config/env';

const kek = new Uint8Array(randomBytes(32));

test('ISSUER_GATEWAY_KEYS carries exactly the gateway\'s subkeys, and never the KEK', () => {
  const text = formatGatewayKeys(gatewaySubkeys(deriveKekSubkeys(kek)));
  const parsed = parseGatewayKeys(text);
  const derived = deriveKekSubkeys(kek);
  assert.deepEqual(parsed.keySealing.current, derived.keySealing.current);
  assert.equal(parsed.keySealing.legacy, undefined, 'no legacy (raw KEK) key for the gateway');
  assert.deepEqual(parsed.offerSecrets, derived.offerSecrets);
  assert.deepEqual(parsed.pickupSealing, derived.pickupSealing);
  assert.ok(!Buffer.from(text.slice(5), 'base64url').includes(Buffer.from(kek)), 'the KEK bytes are not in the text');
  assert.equal(parseEnv({ ISSUER_GATEWAY_KEYS: text }).ISSUER_GATEWAY_KEYS, text);
});

test('a malformed ISSUER_GATEWAY_KEYS is refused at boot with the variable\'s name', () => {
  assert.throws(() => parseEnv({ ISSUER_GATEWAY_KEYS: 'gwk1.short' }), /ISSUER_GATEWAY_KEYS/);
  assert.throws(() => parseGatewayKeys(`gwk1.${Buffer.alloc(64).toString('base64url')}`), /ISSUER_GATEWAY_KEYS/);
});

test('`issuer gateway-keys` prints the subkeys of ISSUER_KEK', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'gateway-keys'], {
    env: { ...process.env, ISSUER_KEK: Buffer.from(kek).toString('hex'), LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  assert.deepEqual(parseGatewayKeys(out).offerSecrets, deriveKekSubkeys(kek).offerSecrets);
});

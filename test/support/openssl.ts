import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The openssl CLI as an independent check of what the X.509 service issues (an implementation that
 * shares no code with @peculiar/x509). Files live in a temporary directory removed after each call.
 */
export function openssl(args: (string | { file: string; content: string })[], input?: string): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openssl-'));
  try {
    const argv = args.map((a) => {
      if (typeof a === 'string') return a;
      const path = join(dir, a.file);
      writeFileSync(path, a.content);
      return path;
    });
    const result = spawnSync('openssl', argv, { encoding: 'utf8', cwd: dir, ...(input !== undefined ? { input } : {}) });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -text -noout` of a PEM certificate. */
export const certificateText = (pem: string): string => openssl(['x509', '-text', '-noout', '-in', { file: 'cert.pem', content: pem }]).stdout;

/** `openssl verify -x509_strict -CAfile ca.pem [-untrusted chain.pem] leaf.pem`: status 0 and `leaf.pem: OK` when the chain verifies. */
export function verifyChain(caPem: string, leafPem: string, untrustedPem?: string): { ok: boolean; output: string } {
  const r = openssl([
    'verify',
    '-x509_strict',
    '-CAfile',
    { file: 'ca.pem', content: caPem },
    ...(untrustedPem ? ['-untrusted', { file: 'untrusted.pem', content: untrustedPem }] : []),
    { file: 'leaf.pem', content: leafPem },
  ]);
  return { ok: r.status === 0 && /leaf\.pem: OK/.test(r.stdout), output: r.stdout + r.stderr };
}

/** The lines of `openssl x509 -text` after the extension heading `name` (its criticality is on the heading line). */
export function extension(text: string, name: string): { critical: boolean; value: string } | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
  if (i < 0) return undefined;
  const value: string[] = [];
  for (let j = i + 1; j < lines.length && !/^\s{12}X509v3 |^\s{4}Signature Algorithm/.test(lines[j]!) && /^\s{16}/.test(lines[j]!); j++) value.push(lines[j]!.trim());
  return { critical: /critical/.test(lines[i]!), value: value.join('\n') };
}

/** A PKCS #10 request made by `openssl req` for a fresh key (`-newkey ec` on `curve`, or ed25519). */
export function opensslCsr(curve: 'prime256v1' | 'secp384r1' | 'ed25519' = 'prime256v1'): string {
  const key = curve === 'ed25519' ? ['-newkey', 'ed25519'] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`];
  const csr = openssl(['req', '-new', ...key, '-nodes', '-keyout', 'key.pem', '-subj', '/CN=from-csr']).stdout;
  if (!csr.includes('BEGIN CERTIFICATE REQUEST')) throw new Error('openssl req made no CSR');
  return csr;
}

/** The request with one bit of its signature value flipped: still well-formed DER, but its signature no longer verifies. */
export function tamperedCsr(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5]! ^= 0x01;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

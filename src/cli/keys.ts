import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { encryptKeyFile, generateSigningKey } from '../server/updates/index.ts';
import type { CliContext, CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

/** The passphrase that encrypts offline keys comes from the environment, never from a flag (shell history). */
export function keyPassphrase(ctx: CliContext): string {
  const p = ctx.env.FLEETWARD_KEY_PASSPHRASE;
  if (!p) throw usage('set FLEETWARD_KEY_PASSPHRASE (at least 12 characters) to encrypt or open key files');
  return p;
}

export const keysNoun: CliNoun = {
  name: 'keys',
  summary: 'offline TUF signing keys (root, targets, product), encrypted with a passphrase',
  verbs: {
    generate: defineVerb({
      summary: 'generate an Ed25519 key into FILE (encrypted) and FILE.pub.json (public, for the server)',
      usage: '--role root|targets|product [--product P] --out FILE [--json]',
      options: { ...JSON_FLAG, role: { type: 'string' }, product: { type: 'string' }, out: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const { role, out } = values;
        if (!out || (role !== 'root' && role !== 'targets' && role !== 'product')) {
          throw usage('--role root|targets|product and --out FILE are required');
        }
        if (role === 'product' && !values.product) throw usage('--role product needs --product P');
        // Never overwrite a key: losing an offline root key is not recoverable.
        if (existsSync(out) || existsSync(`${out}.pub.json`)) throw usage(`${out} exists; choose another --out`);
        const key = generateSigningKey();
        const file = encryptKeyFile(key, role === 'product' ? values.product! : role, keyPassphrase(ctx));
        await writeFile(out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
        await writeFile(`${out}.pub.json`, `${JSON.stringify(key.publicKey, null, 2)}\n`, { flag: 'wx' });
        if (values.json) printJson(ctx.out, { keyId: key.keyId, role: file.role, publicKey: key.publicKey });
        else ctx.out(`key ${key.keyId} (${file.role}) → ${out}; public key → ${out}.pub.json`);
        return EXIT.OK;
      },
    }),
  },
};

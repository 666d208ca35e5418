// A real OpenID provider (panva's certified oidc-provider) for the tests, on 127.0.0.1.
//
// node idp.mjs CONFIG.json   (NODE_PATH-free: OIDC_PROVIDER_MODULE names the package's entry)
// CONFIG: {"port": 0, "clients": [...oidc-provider client metadata...],
//          "accounts": {"<sub>": {<claims>}}, "id_token_ttl": 600}
// Prints one JSON line {"issuer": "http://127.0.0.1:PORT"} on stdout once it listens.
// Every start signs with a fresh RSA key (a new kid), so a restart is a key rotation.
// Sign-in goes through the provider's devInteractions pages: any password is accepted for an
// account of the config; the consent page has one button.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);

const accounts = config.accounts || {};
const claimNames = new Set(['sub', 'jti']);
for (const claims of Object.values(accounts)) Object.keys(claims).forEach((n) => claimNames.add(n));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients || [],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomUUID()] },
    // Every claim of an account under the openid scope, and in the ID token itself (not only
    // at userinfo), as CI issuers put them.
    claims: { openid: [...claimNames] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { IdToken: config.id_token_ttl || 600 },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      // A fresh jti per token: trusted publishing refuses a replayed one.
      return { accountId: id, claims: async () => ({ jti: randomUUID(), ...accounts[id], sub: id }) };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ issuer, kid: signingKey.kid }) + '\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));

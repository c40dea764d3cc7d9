// The keyring API (keyring-admin.ts behind HTTP):
//   GET  /v1/keyring                  → 200 {enabled, primary, keys, persisted} (fingerprints only)
//   POST /v1/keyring/install {key}    → 200 {changed, …status}   key = base64 of 16/24/32 bytes
//   POST /v1/keyring/use {key}
//   POST /v1/keyring/remove {key}
// The POSTs need the API token off loopback (like /v1/leave). Errors are `{error:{code,message}}`:
//   400 INVALID_JSON, BAD_REQUEST (body is not {"key": string}), BAD_KEY (not base64 of 16/24/32)
//   404 KEY_NOT_INSTALLED (use)     409 REMOVE_PRIMARY, ENCRYPTION_NOT_ENABLED
//   500 PERSIST_FAILED (the keyring file could not be written; nothing changed)
//   401 TOKEN_NOT_CONFIGURED / UNAUTHORIZED (service-kit), 503 NOT_STARTED
import { errorBody, type HttpApp } from '@edgefleet/service-kit';
import { z } from 'zod';
import type { KeyringAdmin, KeyringAdminErrorCode, KeyringOp } from './keyring-admin.js';

/** A request body: only `key`, a string (its base64 form is checked by the admin, as BAD_KEY). */
const KeyBody = z.strictObject({ key: z.string().max(1024) });

const STATUS: Record<KeyringAdminErrorCode, number> = {
  BAD_KEY: 400,
  KEY_NOT_INSTALLED: 404,
  REMOVE_PRIMARY: 409,
  ENCRYPTION_NOT_ENABLED: 409,
  PERSIST_FAILED: 500,
};

const issuesText = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ');

export function registerKeyringRoutes(http: HttpApp, admin: () => KeyringAdmin | undefined): void {
  const { app } = http;
  const notStarted = errorBody('NOT_STARTED', 'membership node is starting');

  app.get('/v1/keyring', async (_req, reply) => {
    const a = admin();
    if (!a) return reply.status(503).send(notStarted);
    return a.status();
  });

  void app.register(async (scope) => {
    // The body is parsed here so a malformed one gets this API's codes, not the framework's.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );
    for (const op of ['install', 'use', 'remove'] as const satisfies readonly KeyringOp[]) {
      scope.post(`/v1/keyring/${op}`, { preHandler: http.requireToken }, async (req, reply) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch (e) {
          return reply.status(400).send(errorBody('INVALID_JSON', (e as Error).message));
        }
        const body = KeyBody.safeParse(json);
        if (!body.success) return reply.status(400).send(errorBody('BAD_REQUEST', issuesText(body.error)));
        const a = admin();
        if (!a) return reply.status(503).send(notStarted);
        const r = await a.change(op, body.data.key);
        if (!r.ok) return reply.status(STATUS[r.code]).send(errorBody(r.code, r.message));
        return { changed: r.changed, ...r.status };
      });
    }
  });
}

// Serves the dashboard's built files (Vite's output in dist/dashboard) with their content types.
// Caching: Vite names every asset after a hash of its content (assets/index-3f2a1b.js), so those are
// cached for a year as immutable; index.html names the current assets and is revalidated on every
// load (ETag from size and mtime, 304 when unchanged). Paths are resolved below the folder only:
// `..`, backslashes, NUL and hidden files are refused.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { errorBody } from '@edgefleet/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** The file a request path names below `root`, or undefined when the path is not acceptable. */
export function resolveStaticPath(root: string, relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return undefined;
  const base = resolve(root);
  const file = resolve(base, ...(segments.length ? segments : ['index.html']));
  return file === base || !file.startsWith(base + sep) ? undefined : file;
}

export function createStaticHandler(root: string) {
  return async function serve(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const rel = (req.params as { '*'?: string })['*'] ?? '';
    const file = resolveStaticPath(root, rel);
    const type = file ? CONTENT_TYPES[extname(file).toLowerCase()] : undefined;
    const info = file && type ? await stat(file).catch(() => undefined) : undefined;
    if (!file || !type || !info?.isFile()) {
      const missing = rel === '' || rel === 'index.html';
      return reply
        .status(404)
        .send(
          errorBody(
            missing ? 'DASHBOARD_NOT_BUILT' : 'NOT_FOUND',
            missing ? `the dashboard is not built (no ${join(root, 'index.html')})` : `no file ${rel}`,
          ),
        );
    }
    const immutable = rel.startsWith('assets/');
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    reply
      .header('content-type', type)
      .header('cache-control', immutable ? IMMUTABLE : REVALIDATE)
      .header('etag', etag)
      .header('x-content-type-options', 'nosniff');
    if (!immutable && req.headers['if-none-match'] === etag) return reply.status(304).send();
    reply.header('content-length', String(info.size));
    if (req.method === 'HEAD') return reply.send();
    return reply.send(createReadStream(file));
  };
}

// Small, valid pure-python wheels for tests (no PyPI on the test machines), and a loopback HTTP
// server that serves them as plain files and as a PEP 503 "simple" index.
//
// The wheel is written by /usr/bin/python3's zipfile (deflate + CRC are then someone else's problem):
// `<name>-<version>.dist-info/{METADATA,WHEEL,RECORD}` plus the given modules, RECORD carrying
// `sha256=<urlsafe-b64, no padding>,<size>` for every file but itself (PEP 376 / PEP 427).
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface WheelSpec {
  /** Distribution name as written in METADATA (e.g. `edgefleet-demo`). */
  name: string;
  version: string;
  /** Archive path → file content, e.g. `{ 'demo/__init__.py': 'VALUE = 1\n' }`. */
  modules: Record<string, string>;
  /** PEP 508 strings written as `Requires-Dist`. */
  dependencies?: string[];
}

/** The wheel file name's escaped distribution part (PEP 427: runs of -_. become `_`). */
export const wheelDistName = (name: string) => name.replace(/[-_.]+/g, '_');

const PY_BUILD = String.raw`
import base64, hashlib, json, sys, zipfile
spec = json.load(sys.stdin)
out = sys.argv[1]
dist = spec["dist"]
info = f"{dist}-{spec['version']}.dist-info"
files = dict(spec["modules"])
meta = ["Metadata-Version: 2.1", f"Name: {spec['name']}", f"Version: {spec['version']}"]
meta += [f"Requires-Dist: {d}" for d in spec.get("dependencies", [])]
files[f"{info}/METADATA"] = "\n".join(meta) + "\n"
files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: edgefleet-testkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
record = []
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
        z.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    record.append(f"{info}/RECORD,,")
    z.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
`;

/**
 * Builds `<outDir>/<name>-<version>-py3-none-any.whl` and resolves to its path. Deterministic: the
 * same spec gives the same bytes (fixed timestamps), so hashes are stable across runs.
 */
export function buildWheel(spec: WheelSpec, outDir: string, python = '/usr/bin/python3'): Promise<string> {
  const dist = wheelDistName(spec.name);
  const out = join(outDir, `${dist}-${spec.version}-py3-none-any.whl`);
  return new Promise((resolve, reject) => {
    const child = execFile(python, ['-c', PY_BUILD, out], { timeout: 20_000 }, (err, _o, stderr) =>
      err ? reject(new Error(`buildWheel ${spec.name}: ${stderr || err.message}`)) : resolve(out),
    );
    child.stdin?.end(JSON.stringify({ ...spec, dist }));
  });
}

export interface FileServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** Every request's path (and query), in arrival order. */
  requests: string[];
  /** Paths (e.g. `/slow-1.0-py3-none-any.whl`) answered with headers and a partial body, never finished. */
  stall(path: string): void;
  close(): Promise<void>;
}

/** PEP 503 name normalisation. */
const normalise = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');
/** The project a distribution file belongs to (`demo_lib-1.0-py3-none-any.whl` → `demo-lib`). */
const projectOf = (file: string) => {
  const m = /^(.+?)-\d[^-]*(?:-.*)?\.(?:whl|tar\.gz|zip)$/.exec(file);
  return m ? normalise(m[1] ?? '') : null;
};

/**
 * Serves the files of `dir` (flat, read at request time) on 127.0.0.1, an ephemeral port:
 * `/<file>` the file, `/simple/` the project list, `/simple/<project>/` its files (PEP 503).
 */
export async function serveFiles(dir: string): Promise<FileServer> {
  const requests: string[] = [];
  const stalled = new Set<string>();
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const html = (links: string[]) =>
    `<!DOCTYPE html><html><body>\n${links.map((l) => `<a href="${l}">${l.split('/').pop()}</a><br/>`).join('\n')}\n</body></html>\n`;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    void (async () => {
      const clean = decodeURIComponent(path.split('?')[0] ?? '/');
      const files = (await readdir(dir)).filter((f) => projectOf(f) !== null);
      if (clean === '/simple/' || clean === '/simple') {
        const projects = [...new Set(files.map((f) => projectOf(f)))];
        return send(res, 200, 'text/html', html(projects.map((p) => `/simple/${p}/`)));
      }
      const simple = /^\/simple\/([^/]+)\/?$/.exec(clean);
      if (simple) {
        const wanted = normalise(simple[1] ?? '');
        const own = files.filter((f) => projectOf(f) === wanted);
        if (own.length === 0) return send(res, 404, 'text/plain', 'not found\n');
        return send(res, 200, 'text/html', html(own.map((f) => `/${f}`)));
      }
      const name = clean.slice(1);
      if (name.includes('/') || !files.includes(name)) return send(res, 404, 'text/plain', 'not found\n');
      const st = await stat(join(dir, name));
      if (stalled.has(clean)) {
        // Promise the whole file, deliver a few bytes, then never finish: pip waits on the socket.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
        res.write((await readFile(join(dir, name))).subarray(0, 16));
        return;
      }
      send(res, 200, 'application/octet-stream', await readFile(join(dir, name)));
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stall: (p) => void stalled.add(p),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

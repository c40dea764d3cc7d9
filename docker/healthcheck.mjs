// The HEALTHCHECK of every edgefleet image: GET /healthz of the service in this container, exit 0 when
// it answers 2xx, 1 otherwise (Docker's contract). Node's own fetch, because the slim images have no
// curl or wget. It reads the same variables as the service, so it follows EDGEFLEET_PORT and
// EDGEFLEET_HTTP_HOST overrides; a wildcard bind address is probed on loopback. Without EDGEFLEET_PORT
// the port is the service's own default, read from the bundle it sits in (/app/dist/config.js), so the
// image needs no copy of it. (gossip-membership's --port flag is not seen here: set EDGEFLEET_PORT.)
const port = process.env.EDGEFLEET_PORT
  ? Number(process.env.EDGEFLEET_PORT)
  : (await import(new URL('./dist/config.js', import.meta.url).href).catch(() => ({}))).DEFAULT_PORT;
const bind = (process.env.EDGEFLEET_HTTP_HOST ?? '').trim();
let host = bind;
if (bind === '' || bind === '0.0.0.0') host = '127.0.0.1';
else if (bind === '::' || bind === '[::]') host = '[::1]';
else if (bind.includes(':') && !bind.startsWith('[')) host = `[${bind}]`;

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('healthcheck: EDGEFLEET_PORT is not set to a port\n');
  process.exit(1);
}
try {
  // Shorter than the HEALTHCHECK --timeout, so a hung server is reported as a failure, not a timeout.
  const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch (e) {
  process.stderr.write(`healthcheck: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

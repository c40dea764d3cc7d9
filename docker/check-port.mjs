// Build-time guard of the Dockerfiles: the PORT build argument (used for EXPOSE) must be the default
// port of the service in the bundle, so image metadata cannot drift from the code.
//   node docker/check-port.mjs <bundle-dir> <port>
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundle, port] = process.argv.slice(2);
if (!bundle || !port) {
  process.stderr.write('usage: check-port.mjs <bundle-dir> <port>\n');
  process.exit(64);
}
const configFile = resolve(bundle, 'dist/config.js');
if (!existsSync(configFile)) {
  process.stderr.write(
    `${bundle} holds no service: pass --build-arg SERVICE=<name> (job-receiver, job-executor, result-uploader, gossip-membership)\n`,
  );
  process.exit(1);
}
const config = await import(pathToFileURL(configFile).href);
if (String(config.DEFAULT_PORT) !== port) {
  process.stderr.write(
    `PORT build argument is ${port} but ${config.SERVICE} listens on ${config.DEFAULT_PORT} by default: pass --build-arg PORT=${config.DEFAULT_PORT}\n`,
  );
  process.exit(1);
}

// Splits a child's output into lines and writes each with a fixed-width prefix (`receiver │ …`), so
// four services' logs interleave readably in one terminal.
import type { Readable } from 'node:stream';

export function pipeWithPrefix(source: Readable, prefix: string, out: NodeJS.WritableStream): void {
  let buffered = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      out.write(`${prefix} │ ${buffered.slice(0, nl)}\n`);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
  source.on('end', () => {
    if (buffered) out.write(`${prefix} │ ${buffered}\n`);
    buffered = '';
  });
}

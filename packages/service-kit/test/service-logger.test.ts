// serviceLogger: the logger a factory logs through. Under an injected parent (the single-process node's
// one logger) each service keeps its own configured level, so one service can be made verbose, or
// quiet, without changing the others.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, serviceLogger } from '../src/index.js';

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

describe('serviceLogger', () => {
  it('a child of the parent at the service level: debug for one, warn for another, the parent unchanged', () => {
    const { lines, destination } = sink();
    const parent = createLogger({ level: 'info', destination });
    const executor = serviceLogger({ logger: parent }, 'job-executor', 'debug');
    const receiver = serviceLogger({ logger: parent }, 'job-receiver', 'warn');
    executor.debug('executor debug');
    receiver.info('receiver info');
    receiver.warn('receiver warn');
    parent.debug('parent debug');
    parent.info('parent info');
    expect(lines.map((l) => [l.service, l.level, l.msg])).toEqual([
      ['job-executor', 'debug', 'executor debug'],
      ['job-receiver', 'warn', 'receiver warn'],
      [undefined, 'info', 'parent info'],
    ]);
  });

  it('without a parent, the service own logger at its level', () => {
    const logger = serviceLogger({}, 'result-uploader', 'error');
    expect(logger.level).toBe('error');
    expect(logger.bindings()).toMatchObject({ service: 'result-uploader' });
  });
});

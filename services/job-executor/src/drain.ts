// Drain (contracts' drain.ts, POST /v1/drain): the executor stops taking jobs for the rest of its
// life, lets the running ones finish for up to the wait, then hands back those still running, as a
// SIGTERM would (their entries stay pending in the stream and run again on the next start). Used
// before an upgrade (docker/README.md "Upgrade"), so that a long job is either done or knowingly
// handed back, never cut short by the container's stop timeout.
import type { DrainResult } from '@edgefleet/contracts';
import { DrainRequest } from '@edgefleet/contracts';
import { errorBody, type HttpApp } from '@edgefleet/service-kit';
import type { Logger } from 'pino';

export interface DrainTarget {
  /** Take no more jobs (the stream consumer's stopTaking). */
  stopTaking(): void;
  runningIds(): string[];
  /** True once no job runs, false when the time passes first. */
  idle(timeoutMs: number): Promise<boolean>;
  /** Stop the running jobs and leave their entries pending; waits for them up to `timeoutMs`. */
  stopAll(timeoutMs: number): Promise<void>;
}

export class Drain {
  private started = false;
  constructor(
    private readonly d: DrainTarget & {
      /** How long handing back may take: the executor's kill grace plus a margin, ms. */
      handBackMs: number;
      logger: Logger;
    },
  ) {}

  /** Whether the executor has stopped taking jobs (its /readyz reports it). */
  get draining(): boolean {
    return this.started;
  }

  async drain(waitSeconds: number): Promise<DrainResult> {
    if (!this.started) {
      this.started = true;
      this.d.stopTaking();
    }
    const running = this.d.runningIds();
    this.d.logger.info({ running, waitSeconds }, 'draining: taking no more jobs');
    const idle = await this.d.idle(waitSeconds * 1000);
    const handedBack = idle ? [] : this.d.runningIds();
    if (handedBack.length) {
      this.d.logger.warn({ handedBack }, 'drain: handing back the jobs still running');
      await this.d.stopAll(this.d.handBackMs);
    }
    return { draining: true, finished: running.filter((id) => !handedBack.includes(id)), handedBack };
  }
}

/** POST /v1/drain {waitSeconds} → 200 DrainResult; 400 INVALID_JSON / BAD_REQUEST; token as every mutating route. */
export function registerDrainRoute(http: HttpApp, drain: Drain): void {
  void http.app.register(async (scope) => {
    // Parsed here so a malformed body gets this API's codes, not the framework's.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );
    scope.post('/v1/drain', { preHandler: http.requireToken }, async (req, reply) => {
      let json: unknown;
      try {
        json = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch (e) {
        return reply.status(400).send(errorBody('INVALID_JSON', (e as Error).message));
      }
      const body = DrainRequest.safeParse(json);
      if (!body.success)
        return reply
          .status(400)
          .send(
            errorBody(
              'BAD_REQUEST',
              body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
            ),
          );
      return drain.drain(body.data.waitSeconds);
    });
  });
}

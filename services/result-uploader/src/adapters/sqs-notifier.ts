// Sends a notification to the results SQS queue. The body is the notification's JSON; attributes carry
// the idempotency key and the state so a consumer can filter without parsing. On a FIFO queue the job id
// is the message group (per-job order) and the idempotency key (hashed when too long) the
// deduplication id, so SQS itself drops a duplicate sent within its 5-minute window.
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { classifyS3Error } from '../core/classify.js';
import type { WebhookVerdict } from '../core/retry.js';

export interface AttemptResult {
  verdict: WebhookVerdict;
  detail: string;
}

export class SqsNotifier {
  private readonly fifo: boolean;
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {
    this.fifo = queueUrl.endsWith('.fifo');
  }

  async attempt(
    body: string,
    meta: { jobId: string; state: string; idempotencyKey: string },
    signal: AbortSignal,
  ): Promise<AttemptResult> {
    const dedupe =
      meta.idempotencyKey.length <= 128
        ? meta.idempotencyKey
        : createHash('sha256').update(meta.idempotencyKey).digest('hex');
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: body,
          MessageAttributes: {
            idempotencyKey: { DataType: 'String', StringValue: meta.idempotencyKey },
            state: { DataType: 'String', StringValue: meta.state },
          },
          ...(this.fifo ? { MessageGroupId: meta.jobId, MessageDeduplicationId: dedupe } : {}),
        }),
        { abortSignal: signal },
      );
      return { verdict: 'delivered', detail: 'sent' };
    } catch (err) {
      // Same families as S3: throttling, 5xx and network errors are worth another try.
      const c = classifyS3Error(err);
      return { verdict: c.retryable ? 'retryable' : 'rejected', detail: c.detail };
    }
  }
}

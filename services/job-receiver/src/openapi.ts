// The job API's OpenAPI 3.1 description, generated from the zod schemas (contracts' job-api.ts).
// Served at GET /openapi.json and committed as ../openapi.json; a test fails when they differ
// (regenerate with `pnpm --filter @edgefleet/job-receiver gen:openapi`).
import {
  ErrorResponse,
  JobCancelBody,
  JobList,
  JobListQuery,
  JobLogsQuery,
  JobRecord,
  JobSubmitBody,
  JobSubmitResponse,
  LogTailResponse,
} from '@edgefleet/contracts';
import { z } from 'zod';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const doc = z.toJSONSchema(s, { io, unrepresentable: 'any', reused: 'inline' }) as Json;
  delete doc.$schema;
  delete doc.id;
  return doc;
}

const json = (s: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: schemaOf(s, io) },
});
const error = (description: string) => ({ description, content: json(ErrorResponse) });
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' },
};
const unauthorized = error('Missing or wrong bearer token (required off loopback or when a token is set)');
const unavailable = error('Redis is unreachable or not durable; retry later');

function queryParams(s: z.ZodObject): Json[] {
  const doc = schemaOf(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(doc.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: doc.required?.includes(name) ?? false,
    schema,
  }));
}

function buildOpenApi(version: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgefleet job API (job-receiver)',
      version,
      description:
        'The node job API: submit, list, get, cancel and follow jobs. The same schema and the same path into ' +
        'the device stream as SQS messages. Every /v1 route needs `Authorization: Bearer <token>` when the ' +
        'server listens off loopback or a token is configured.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/jobs': {
        post: {
          summary: 'Submit a job (or a cancel) message',
          description:
            'Body: a job message v1 or a cancel message v1, exactly as on SQS. When the device requires ' +
            'signatures, `x-edgefleet-signature` carries the hex HMAC-SHA256 of the body.',
          parameters: [
            { name: 'x-edgefleet-signature', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: json(JobSubmitBody, 'input') },
          responses: {
            '202': { description: 'Queued (durable in the device stream)', content: json(JobSubmitResponse) },
            '200': {
              description: 'Known already (duplicate), or a cancel message handled',
              content: json(JobSubmitResponse),
            },
            '400': error('Not JSON, or no usable jobId (nothing recorded)'),
            '401': unauthorized,
            '403': error(
              'Signature missing or wrong while signatures are required (SIGNATURE_MISSING, SIGNATURE_INVALID): nothing recorded under the jobId the body names',
            ),
            '413': error('Body too large'),
            '415': error('Content-Type is not application/json'),
            '422': {
              description: 'Rejected: the record is REJECTED with this reason and the server is notified',
              content: json(JobSubmitResponse),
            },
            '503': unavailable,
          },
        },
        get: {
          summary: 'Recent jobs, newest first',
          parameters: queryParams(JobListQuery),
          responses: {
            '200': {
              description: 'A page of jobs; pass nextCursor as cursor for the next',
              content: json(JobList),
            },
            '400': error('Bad query'),
            '401': unauthorized,
            '503': unavailable,
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'A job record with its full history',
          parameters: [idParam],
          responses: {
            '200': { description: 'The record', content: json(JobRecord) },
            '400': error('Bad job id'),
            '401': unauthorized,
            '404': error('No such job'),
            '503': unavailable,
          },
        },
      },
      '/v1/jobs/{id}/cancel': {
        post: {
          summary: 'Cancel a job',
          description:
            'Queued: CANCELED now. Running: cancelRequested is set and the executor is told. Unknown: a ' +
            'CANCELED record is left so the job never runs when it arrives. Terminal: nothing changes (409).',
          parameters: [idParam],
          requestBody: { required: false, content: json(JobCancelBody, 'input') },
          responses: {
            '200': { description: 'Canceled', content: json(JobSubmitResponse) },
            '202': { description: 'Cancel requested from the executor', content: json(JobSubmitResponse) },
            '400': error('Bad job id or body'),
            '401': unauthorized,
            '409': { description: 'Already terminal', content: json(JobSubmitResponse) },
            '503': unavailable,
          },
        },
      },
      '/v1/jobs/{id}/logs': {
        get: {
          summary: 'The live tail of the job output',
          description:
            'Without follow: the current tail as JSON. With follow=1: server-sent events, `chunk` events ' +
            '(id = tail entry id, data = {stream, data}) until the job is terminal, then one `end` event ' +
            '(data = {state}). Resume with Last-Event-ID or ?after=.',
          parameters: [idParam, ...queryParams(JobLogsQuery)],
          responses: {
            '200': {
              description: 'The tail (JSON) or an event stream (follow)',
              content: { ...json(LogTailResponse), 'text/event-stream': { schema: { type: 'string' } } },
            },
            '400': error('Bad job id or query'),
            '401': unauthorized,
            '404': error('No such job'),
            '503': unavailable,
          },
        },
      },
    },
  };
}

/** The committed text: stable key order, trailing newline. */
export const renderOpenApi = (version: string): string =>
  `${JSON.stringify(buildOpenApi(version), null, 2)}\n`;

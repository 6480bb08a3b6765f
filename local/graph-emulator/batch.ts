import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { badRequest, errorEnvelope } from './graphErrors.js';
import type { EmulatedRequest, EmulatedResponse } from './routes.js';

const MAX_REQUESTS = 20;
/** Outlook runs at most 4 requests of one batch at a time. */
const MAX_PARALLEL = 4;

const batchSchema = z.object({
  requests: z.array(
    z.object({
      id: z.string().min(1),
      method: z.string().min(1),
      url: z.string().min(1),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.unknown().optional(),
      dependsOn: z.array(z.string()).optional(),
    }),
  ),
});

type BatchStep = z.infer<typeof batchSchema>['requests'][number];

function parseBatch(body: Buffer): BatchStep[] {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('Invalid batch payload format.');
  }
  const parsed = batchSchema.safeParse(payload);
  if (!parsed.success) throw badRequest('Invalid batch payload format.');
  const steps = parsed.data.requests;
  if (steps.length > MAX_REQUESTS) {
    throw badRequest(`Number of batch request steps exceeds the maximum of ${MAX_REQUESTS}.`);
  }
  const ids = new Set(steps.map((step) => step.id));
  if (ids.size !== steps.length) throw badRequest('Batch request ids must be unique.');
  for (const step of steps) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(step.url)) throw badRequest('Batch requests must use relative URLs.');
    if (step.dependsOn?.some((id) => !ids.has(id) || id === step.id)) {
      throw badRequest(`Request '${step.id}' depends on a request that is not in the batch.`);
    }
    const hasContentType = Object.keys(step.headers ?? {}).some(
      (name) => name.toLowerCase() === 'content-type',
    );
    if (step.body !== undefined && !hasContentType) {
      throw badRequest(`Request '${step.id}' has a body but no Content-Type header.`);
    }
  }
  if (hasCycle(steps)) throw badRequest('The dependsOn references of the batch form a cycle.');
  return steps;
}

function hasCycle(steps: BatchStep[]): boolean {
  const dependencies = new Map(steps.map((step) => [step.id, step.dependsOn ?? []]));
  const done = new Set<string>();
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const [id, needs] of dependencies) {
      if (!done.has(id) && needs.every((need) => done.has(need))) {
        done.add(id);
        progressed = true;
      }
    }
  }
  return done.size !== steps.length;
}

function innerRequest(step: BatchStep): EmulatedRequest {
  const url = new URL(step.url.replace(/^\/?/, '/'), 'https://batch.invalid');
  const headers = new Map(
    Object.entries(step.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const contentType = headers.get('content-type') ?? '';
  let body: Buffer;
  if (step.body === undefined) body = Buffer.alloc(0);
  else if (typeof step.body === 'string') {
    // OData JSON batching: text/* bodies are JSON strings, other media types base64.
    body = contentType.startsWith('text/')
      ? Buffer.from(step.body, 'utf8')
      : Buffer.from(step.body, 'base64');
  } else body = Buffer.from(JSON.stringify(step.body));
  return {
    method: step.method.toUpperCase(),
    rawPath: url.pathname,
    rawQuery: url.search.slice(1),
    headers,
    body,
  };
}

function batchResponse(id: string, response: EmulatedResponse): Record<string, unknown> {
  const headers = { ...response.headers };
  let body = response.body;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  else if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  return { id, status: response.status, headers, ...(body === undefined ? {} : { body }) };
}

function failedDependency(id: string): EmulatedResponse {
  const requestId = randomUUID();
  return {
    status: 424,
    headers: {},
    body: errorEnvelope(
      'FailedDependency',
      `Request '${id}' depends on a request that failed.`,
      requestId,
      requestId,
    ),
  };
}

/** Runs the steps of a $batch, dependencies first, at most 4 at a time; responses in completion order. */
export async function runBatch(
  body: Buffer,
  handle: (request: EmulatedRequest) => Promise<EmulatedResponse>,
): Promise<EmulatedResponse> {
  const waiting = parseBatch(body);
  const finished = new Map<string, EmulatedResponse>();
  const responses: Array<Record<string, unknown>> = [];
  const running = new Set<Promise<void>>();
  const finish = (id: string, response: EmulatedResponse): void => {
    finished.set(id, response);
    responses.push(batchResponse(id, response));
  };
  while (waiting.length > 0 || running.size > 0) {
    for (const step of [...waiting]) {
      const needs = step.dependsOn ?? [];
      if (running.size >= MAX_PARALLEL || !needs.every((need) => finished.has(need))) continue;
      waiting.splice(waiting.indexOf(step), 1);
      const failed = needs.some((need) => {
        const status = finished.get(need)?.status ?? 0;
        return status < 200 || status > 299;
      });
      if (failed) {
        finish(step.id, failedDependency(step.id));
        continue;
      }
      const task: Promise<void> = handle(innerRequest(step))
        .then((response) => finish(step.id, response))
        .finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size > 0) await Promise.race(running);
  }
  return { status: 200, headers: {}, body: { responses } };
}

import type { HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';

/** The closed set of failures an HTTP caller is told about; anything else is a 500 without details. */
export type ApiErrorCode =
  | 'badRequest'
  | 'unauthenticated'
  | 'forbidden'
  | 'notFound'
  | 'conflict'
  | 'importerDisabled'
  | 'preconditionFailed'
  | 'payloadTooLarge'
  | 'unsupportedMediaType'
  | 'authenticationNotConfigured';

const STATUS: Record<ApiErrorCode, number> = {
  badRequest: 400,
  unauthenticated: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  importerDisabled: 409,
  preconditionFailed: 412,
  payloadTooLarge: 413,
  unsupportedMediaType: 415,
  authenticationNotConfigured: 500,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A 400 naming the first invalid field, from a zod error; an unknown key is named as the field. */
export function invalidInput(error: z.ZodError, prefix: string): ApiError {
  const issue = error.issues[0];
  const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = [prefix, ...(issue?.path ?? []).map(String), unknownKey].filter(Boolean).join('.');
  const message = unknownKey === undefined ? (issue?.message ?? 'invalid') : 'unknown key';
  return new ApiError('badRequest', `${path || 'input'}: ${message}`, path);
}

/**
 * Maps anything thrown by a use case to a response: known errors by code, the rest as a bare 500 whose
 * details (a Graph or Cosmos DB message, a stack) go only to the log. Every error names the correlation
 * id (the invocation id), which finds the invocation's log lines.
 */
export function errorResponse(
  error: unknown,
  log: (message: string) => void,
  correlationId: string,
): HttpResponseInit {
  if (error instanceof ApiError) {
    if (error.code === 'authenticationNotConfigured') log(`refused: ${error.message}`);
    return {
      status: STATUS[error.code],
      jsonBody: {
        error: {
          code: error.code,
          message: error.message,
          ...(error.field ? { field: error.field } : {}),
          correlationId,
        },
      },
    };
  }
  log(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return {
    status: 500,
    jsonBody: { error: { code: 'internal', message: 'Internal error; see the logs.', correlationId } },
  };
}

export function ok(body: unknown, headers?: Record<string, string>): HttpResponseInit {
  return { status: 200, jsonBody: body, ...(headers ? { headers } : {}) };
}

export function accepted(body: unknown): HttpResponseInit {
  return { status: 202, jsonBody: body };
}

/** Wraps an HTTP handler so every failure becomes a status code in this one place. */
export function mappingErrors<C, X extends { error(...args: unknown[]): void; invocationId: string }>(
  handler: (request: C, context: X) => Promise<HttpResponseInit>,
): (request: C, context: X) => Promise<HttpResponseInit> {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      return errorResponse(error, (message) => context.error(message), context.invocationId);
    }
  };
}

import type { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { identifier } from '../helpdesk/settings.js';
import { ApiError, invalidInput } from './errors.js';

/** Validates the route parameters of a request against a schema; 400 naming the parameter. */
export function routeParams<T extends z.ZodRawShape>(
  request: HttpRequest,
  shape: T,
): z.infer<z.ZodObject<T>> {
  const result = z.object(shape).safeParse(request.params);
  if (!result.success) throw invalidInput(result.error, '');
  return result.data;
}

/** Reads a JSON body and validates it; 400 for malformed JSON or the first invalid field. */
export async function jsonBody<T extends z.ZodType>(
  request: HttpRequest,
  schema: T,
  optional = false,
): Promise<z.infer<T>> {
  const text = await request.text();
  if (text.trim() === '' && optional) return schema.parse({});
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('badRequest', 'body: must be valid JSON', 'body');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error, 'body');
  return result.data;
}

export const helpdeskParam = { helpdeskId: identifier };

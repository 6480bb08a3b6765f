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

/**
 * The entity tags of an If-Match header, unquoted; null when there is none or it is "*" (any version).
 * A weak tag never matches (RFC 9110 compares If-Match strongly), so it is kept with its W/ prefix.
 */
export function ifMatch(request: HttpRequest): string[] | null {
  const header = request.headers.get('if-match');
  if (header === null || header.trim() === '') return null;
  const tags = header.split(',').map((tag) => tag.trim());
  if (tags.includes('*')) return null;
  return tags.map((tag) => (tag.startsWith('"') ? tag.replace(/^"|"$/g, '') : tag));
}

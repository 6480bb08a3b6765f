/**
 * The management API as the console calls it: same origin, the sign-in cookie of App Service
 * authentication in Azure, nothing locally. Every failure becomes an ApiProblem with the API's own
 * message and, for a 400, the field it names.
 */

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

async function problem(response: Response): Promise<ApiProblem> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // No JSON: the status says enough.
  }
  const error = body.error ?? {};
  const message =
    response.status === 401
      ? 'You are not signed in, or your session has expired.'
      : (error.message ?? `${response.status} ${response.statusText}`);
  return new ApiProblem(response.status, error.code ?? String(response.status), message, error.field ?? null);
}

export interface ApiResponse<T> {
  body: T;
  etag: string | null;
}

export async function call<T>(
  method: string,
  path: string,
  options: { json?: unknown; bytes?: Blob; contentType?: string; ifMatch?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-requested-with': 'XMLHttpRequest',
  };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.bytes) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = options.bytes;
  }
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  let response: Response;
  try {
    response = await fetch(`/api/${path}`, { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiProblem(
      0,
      'network',
      'The app cannot be reached (or your sign-in expired): reload the page.',
      null,
    );
  }
  if (!response.ok) throw await problem(response);
  return { body: (await response.json()) as T, etag: response.headers.get('etag') };
}

/**
 * A page's call: its answer to `use` and the page's problem cleared, or the problem shown. */
export function settle<T>(
  request: Promise<ApiResponse<T>>,
  use: (response: ApiResponse<T>) => void,
  show: (problem: ApiProblem | null) => void,
): Promise<void> {
  return request.then(
    (response) => {
      use(response);
      show(null);
    },
    (error: unknown) => show(asProblem(error)),
  );
}

/** What was thrown, as the problem a page shows: anything but an ApiProblem is a fault of the console. */
export function asProblem(error: unknown): ApiProblem {
  return error instanceof ApiProblem ? error : new ApiProblem(0, 'console', String(error), null);
}

/** App Service authentication's sign-in (Microsoft Entra ID), back to the console afterwards. */
export const SIGN_IN_URL = `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('/api/console')}`;

export function helpdeskPath(helpdeskId: string, rest = ''): string {
  return `helpdesks/${encodeURIComponent(helpdeskId)}${rest}`;
}

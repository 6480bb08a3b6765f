import { GraphErrorResponse } from './graphErrors.js';

export interface Fault {
  /** A route key (`GET /users/{id}/messages`) or a substring of the route key or of the path. */
  route?: string;
  method?: string;
  /** 403: a permission the app lacks (e.g. User.Read.All for a directory read). */
  status: 403 | 429 | 503 | 504;
  retryAfterSeconds?: number;
  code?: string;
  /** How many matching requests fail. */
  count: number;
  /** Delay before the failure is sent. */
  latencyMs?: number;
  /** true: only requests inside a $batch; false: only requests outside; absent: both. */
  inBatch?: boolean;
}

const DEFAULTS: Record<Fault['status'], { code: string; message: string }> = {
  403: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' },
  429: { code: 'TooManyRequests', message: 'Please retry again later.' },
  503: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable. Please retry later.' },
  504: { code: 'GatewayTimeout', message: 'The gateway did not receive a timely response.' },
};

const MESSAGES: Record<string, string> = {
  ApplicationThrottled: 'Application is over its MailboxConcurrency limit.',
};

export class FaultPlan {
  private readonly pending: Fault[] = [];

  add(fault: Fault): void {
    if (fault.count > 0) this.pending.push({ ...fault });
  }

  /** Takes one use of the first fault that matches this request, if any. */
  take(request: { routeKey: string; path: string; method: string; inBatch: boolean }): Fault | undefined {
    const index = this.pending.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method.toUpperCase() === request.method) &&
        (fault.inBatch === undefined || fault.inBatch === request.inBatch) &&
        (fault.route === undefined ||
          request.routeKey.includes(fault.route) ||
          request.path.includes(fault.route)),
    );
    const fault = this.pending[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count === 0) this.pending.splice(index, 1);
    return fault;
  }
}

export function faultError(fault: Fault): GraphErrorResponse {
  const defaults = DEFAULTS[fault.status];
  const code = fault.code ?? defaults.code;
  return new GraphErrorResponse(
    fault.status,
    code,
    MESSAGES[code] ?? defaults.message,
    fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) },
  );
}

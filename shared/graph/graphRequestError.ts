/**
 * A Graph call that failed: the HTTP status (0 when no response came back) and Graph's error code.
 * `retryable` says whether the same call may succeed later (throttling, outage, network); for a send
 * that failed with a 5xx or a network error, check Sent Items before sending again.
 */
export class GraphRequestError extends Error {
  override readonly name = 'GraphRequestError';

  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

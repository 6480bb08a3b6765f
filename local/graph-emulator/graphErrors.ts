/** A Graph error response; handlers throw it and the pipeline turns it into the Graph error envelope. */
export class GraphErrorResponse extends Error {
  override readonly name = 'GraphErrorResponse';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const itemNotFound = (): GraphErrorResponse =>
  new GraphErrorResponse(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export const badRequest = (message: string, code = 'BadRequest'): GraphErrorResponse =>
  new GraphErrorResponse(400, code, message);

/** Graph's date format in innerError: seconds precision, no zone suffix. */
const innerErrorDate = (): string => new Date().toISOString().slice(0, 19);

export function errorEnvelope(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string,
): { error: { code: string; message: string; innerError: Record<string, string> } } {
  return {
    error: {
      code,
      message,
      innerError: { date: innerErrorDate(), 'request-id': requestId, 'client-request-id': clientRequestId },
    },
  };
}

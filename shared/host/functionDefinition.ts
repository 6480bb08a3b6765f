import type { HttpMethod, HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';

/**
 * One Azure Function: its trigger and its handler. `functions/index.ts` registers every definition
 * with `app.*`; the local host (local/host.ts) runs the very same definitions, so the wiring exists once.
 * Values written as `%SETTING%` are resolved from the environment, as the Functions host does.
 */
export type FunctionDefinition = TimerFunction | QueueFunction | HttpFunction;

export interface TimerFunction {
  trigger: 'timer';
  name: string;
  /** NCRONTAB with six fields (seconds first), or `%SETTING%`. */
  schedule: string;
  handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

export interface QueueFunction {
  trigger: 'queue';
  name: string;
  /** Queue name or `%SETTING%`; a `-poison` suffix is allowed for the poison queue. */
  queueName: string;
  /** App setting prefix of the storage connection. */
  connection: 'AzureWebJobsStorage';
  handler: (message: unknown, context: InvocationContext) => Promise<void>;
}

export interface HttpFunction {
  trigger: 'http';
  name: string;
  methods: HttpMethod[];
  /** Route below /api, with `{name}` parameters. */
  route: string;
  authLevel: 'anonymous' | 'function' | 'admin';
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

import { Cron } from 'croner';
import { z } from 'zod';
import { SENT_ITEMS_DELAY_MS } from '../graph/sentItems.js';
import { type MailboxAllowList, parseMailboxAllowList } from './mailboxAllowList.js';

/**
 * Every setting the app reads from its environment. Connections come in two forms:
 * identity-based in Azure (`…__accountName` / `…__credential` / `…__clientId`, Cosmos endpoint only)
 * and key/connection-string based for the local emulators.
 */
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** The Functions host's NCRONTAB has six fields, seconds first; croner reads the same form. */
function isNcrontab(expression: string): boolean {
  if (expression.split(/\s+/).length !== 6) return false;
  try {
    new Cron(expression, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** Short enough that `<name>-poison` is a queue name too. */
const storageQueueName = z
  .string()
  .regex(
    /^[a-z0-9](?!.*--)[a-z0-9-]{1,53}[a-z0-9]$/,
    'a storage queue name: 3-55 lowercase letters, digits, -',
  );

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });

/** Graph posts notifications to https only; the local host listens on http loopback, which the emulator takes. */
const notificationUrl = z.url({ protocol: /^https?$/, error: 'must be an https URL' }).refine((url) => {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}, 'must be an https URL (http only on loopback, for the local emulator)');

export const environmentSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    AzureWebJobsStorage__accountName: optionalText,
    AzureWebJobsStorage__blobServiceUri: z.url().optional(),
    AzureWebJobsStorage__queueServiceUri: z.url().optional(),
    AzureWebJobsStorage__credential: z.enum(['managedidentity']).optional(),
    AzureWebJobsStorage__clientId: optionalText,

    COSMOS_ENDPOINT: httpsUrl,
    COSMOS_KEY: optionalText,
    COSMOS_DATABASE: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,255}$/, 'letters, digits, - and _ only')
      .default('helpdesk'),

    GRAPH_BASE_URL: httpsUrl.default('https://graph.microsoft.com'),
    GRAPH_ACCESS_TOKEN: optionalText,
    GRAPH_CA_CERT_PATH: optionalText,
    AZURE_CLIENT_ID: optionalText,

    IMPORT_QUEUE_NAME: storageQueueName.default('mailbox-imports'),
    /** Send jobs of agent replies (R21); poison queue `<name>-poison`. */
    REPLY_QUEUE_NAME: storageQueueName.default('agent-replies'),
    IMPORT_SCHEDULE: z
      .string()
      .trim()
      .refine(isNcrontab, 'an NCRONTAB expression with six fields (seconds first), e.g. 0 */5 * * * *')
      .default('0 */5 * * * *'),
    IMPORT_TIME_BUDGET_SECONDS: z.coerce.number().int().min(10).max(3600).default(480),
    IMAGES_CONTAINER: z
      .string()
      .regex(/^[a-z0-9-]{3,63}$/)
      .default('ticket-images'),
    RAW_MAIL_CONTAINER: z
      .string()
      .regex(/^[a-z0-9-]{3,63}$/)
      .default('raw-mail'),
    KEPT_ASIDE_CONTAINER: z
      .string()
      .regex(/^[a-z0-9-]{3,63}$/)
      .default('kept-aside-mail'),

    /**
     * Who may call the management API. entra (the default): App Service authentication (Easy Auth) signs
     * the caller in with Microsoft Entra ID and each helpdesk names the groups and app roles it admits.
     * none: no check at all, for local runs (npm start, tests) only; must be set explicitly and is
     * refused on App Service.
     */
    MANAGEMENT_AUTH: z.enum(['entra', 'none']).default('entra'),
    /** The mailboxes this deployment may read (mailboxAllowList.ts); required, no default. */
    ALLOWED_MAILBOXES: z.string().transform((setting, ctx): MailboxAllowList => {
      try {
        return parseMailboxAllowList(setting);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
    /**
     * Where Graph posts change notifications for new mail: the `notifications` function's URL. Unset:
     * no subscriptions, the timer alone finds new mail.
     */
    NOTIFICATION_URL: notificationUrl.optional(),
    /**
     * The secret each subscription's clientState is derived from (HMAC per mailbox). In Azure a Key Vault
     * reference; required with NOTIFICATION_URL.
     */
    NOTIFICATION_CLIENT_STATE_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    /**
     * With healthy notifications the timer enqueues a mailbox only when its last run is older than this:
     * the safety net for a notification Graph dropped.
     */
    SAFETY_NET_POLL_MINUTES: z.coerce.number().int().min(5).max(1440).default(30),
    /**
     * How long after a send that may have gone through its mail can be missing from Sent Items: a repeat
     * attempt waits this long before it looks (shared/graph/sentItems.ts).
     */
    SENT_ITEMS_DELAY_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(SENT_ITEMS_DELAY_MS / 1000),
    /** Set by App Service on every app it runs; tells a deployed app from a local one. */
    WEBSITE_SITE_NAME: optionalText,
    /** Set by App Service to True when its authentication (Easy Auth) is on. */
    WEBSITE_AUTH_ENABLED: optionalText,
  })
  .superRefine((env, ctx) => {
    if (env.MANAGEMENT_AUTH === 'none' && env.WEBSITE_SITE_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['MANAGEMENT_AUTH'],
        message: 'none is for local runs only; on App Service use entra with App Service authentication',
      });
    }
    if (env.NOTIFICATION_URL && !env.NOTIFICATION_CLIENT_STATE_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFICATION_CLIENT_STATE_SECRET'],
        message: 'required with NOTIFICATION_URL (a Key Vault reference in Azure)',
      });
    }
    if (
      !env.AzureWebJobsStorage &&
      !env.AzureWebJobsStorage__accountName &&
      !env.AzureWebJobsStorage__blobServiceUri
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['AzureWebJobsStorage__accountName'],
        message:
          'set AzureWebJobsStorage__accountName (Azure) or AzureWebJobsStorage (emulator connection string)',
      });
    }
  });

export type Environment = z.infer<typeof environmentSchema>;

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** Reads and validates the environment; the message names the first bad setting on one line. */
export function readEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const result = environmentSchema.safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const setting = issue?.path.join('.') || 'environment';
  throw new ConfigurationError(`Invalid setting ${setting}: ${issue?.message ?? 'invalid'}`);
}

let cached: Environment | undefined;

/** The environment of this process, validated once on first use (never at import time). */
export function environment(): Environment {
  cached ??= readEnvironment();
  return cached;
}

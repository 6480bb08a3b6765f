import type { FunctionDefinition } from '../shared/host/functionDefinition.js';
import { postReplyFunction, replyStatusFunction, retryReplyFunction } from './agentReplies.js';
import { consoleFunction } from './console.js';
import { importerSettingsFunction } from './importerSettings.js';
import { importerStatusFunction } from './importerStatus.js';
import { importHelpdeskFunction } from './importHelpdesk.js';
import { importMailboxFunction } from './importMailbox.js';
import { importMailboxPoisonFunction } from './importMailboxPoison.js';
import {
  keptAsideMessagesFunction,
  messageDetailFunction,
  rawMessageFunction,
  resolveMessageFunction,
  retryKeptAsideMessageFunction,
} from './keptAsideMessages.js';
import { maintainSubscriptionsFunction } from './maintainSubscriptions.js';
import { notificationsFunction } from './notifications.js';
import { pollMailboxesFunction } from './pollMailboxes.js';
import { previewMessageFunction } from './previewMessage.js';
import {
  requeueLostRepliesFunction,
  sendAgentReplyFunction,
  sendAgentReplyPoisonFunction,
} from './sendAgentReply.js';
import { ticketImageFunction } from './ticketImages.js';

/** Every function of the app: registered with the Functions host by index.ts, run by local/host.ts. */
export const allFunctions: FunctionDefinition[] = [
  pollMailboxesFunction,
  importMailboxFunction,
  importMailboxPoisonFunction,
  importHelpdeskFunction,
  importerSettingsFunction,
  importerStatusFunction,
  keptAsideMessagesFunction,
  retryKeptAsideMessageFunction,
  rawMessageFunction,
  messageDetailFunction,
  resolveMessageFunction,
  ticketImageFunction,
  previewMessageFunction,
  consoleFunction,
  postReplyFunction,
  replyStatusFunction,
  retryReplyFunction,
  sendAgentReplyFunction,
  sendAgentReplyPoisonFunction,
  notificationsFunction,
  maintainSubscriptionsFunction,
  requeueLostRepliesFunction,
];

import { app, HttpRequest } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { invocation } from '../support/functionRuns.js';

/**
 * What the README promises for a bad app setting: the functions stay registered, start-up logs one line
 * naming the setting, and every invocation fails with that same line (HTTP: a 500 without details).
 * This file's process has only the bad settings; nothing else runs in it.
 */

const BAD = 'Invalid setting COSMOS_ENDPOINT: must be an https URL';

describe('a bad app setting', () => {
  it('leaves every function registered, and each invocation reports the setting', async () => {
    for (const name of Object.keys(process.env)) {
      if (/^(AzureWebJobs|COSMOS_|GRAPH_|IMPORT_|AZURE_)/.test(name)) delete process.env[name];
    }
    Object.assign(process.env, {
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      COSMOS_ENDPOINT: 'http://127.0.0.1:8081',
      COSMOS_KEY: 'key',
      GRAPH_BASE_URL: 'https://127.0.0.1:9443',
      GRAPH_ACCESS_TOKEN: 'token',
    });
    const registered: string[] = [];
    const startup: string[] = [];
    vi.spyOn(app, 'timer').mockImplementation((name) => void registered.push(name));
    vi.spyOn(app, 'storageQueue').mockImplementation((name) => void registered.push(name));
    vi.spyOn(app, 'http').mockImplementation((name) => void registered.push(name));
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void startup.push(String(line)));
    await import('../../functions/index.js');
    const { allFunctions } = await import('../../functions/definitions.js');
    expect(registered.sort()).toEqual(allFunctions.map((f) => f.name).sort());
    expect(startup).toEqual([BAD]);

    const { importerStatusHandler } = await import('../../functions/importerStatus.js');
    const lines: string[] = [];
    const response = await importerStatusHandler(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/x', params: { helpdeskId: 'demo' } }),
      invocation('importerStatus', lines),
    );
    expect(response).toMatchObject({ status: 500, jsonBody: { error: { code: 'internal' } } });
    expect(lines.join('\n')).toContain(BAD);

    const { importMailboxHandler } = await import('../../functions/importMailbox.js');
    const job = {
      helpdeskId: 'demo',
      mailboxId: 'main',
      reason: 'timer',
      enqueuedAt: new Date().toISOString(),
    };
    await expect(importMailboxHandler(job, invocation('importMailbox'))).rejects.toThrow(BAD);
  });
});

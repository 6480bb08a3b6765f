import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmosTicketStore } from '../../shared/cosmos/cosmosTicketStore.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import {
  type ImportScenario,
  mailRecords,
  seedDesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * A supplement's change to its ticket (status, links, participants …) is worked out from the ticket as read
 * while planning. Whatever someone else writes to the ticket in between — a person approving a sender, an
 * agent's reply adding a recipient, another mailbox's run — is kept, not overwritten with the older list.
 */

let scenario: ImportScenario;

beforeAll(async () => {
  scenario = await startImportScenario();
}, 120_000);

afterAll(async () => {
  await scenario?.local.close();
});

async function deliver(userId: string, subject: string, minute: number) {
  const raw = await rawMail({
    from: 'Karin Klant <karin@customer.example>',
    to: userId,
    subject,
    text: 'Hallo.',
  });
  scenario.local.graph.deliver(userId, raw, { receivedDateTime: `2026-12-05T09:${minute}:00Z` });
}

describe('a ticket changed by someone else while a supplement is imported', () => {
  it('keeps a participant added between planning and writing the supplement', async () => {
    const { ref, userId, helpdeskId } = await seedDesk(scenario, 'concurrent');
    await deliver(userId, 'Printer broken', 10);
    const first = await importMailbox(scenario.deps, ref, testRunOptions());
    const ticketNumber = first.created[0] ?? 0;
    await deliver(userId, `Re: [#${ticketNumber}] Printer broken`, 11);

    let added = 0;
    const result = await importMailbox(
      {
        ...scenario.deps,
        // Right after the plan (the ticket was read for it), a person adds a participant.
        checkpoint: async (step) => {
          if (step !== 'planned' || added++ > 0) return;
          await scenario.deps.tickets.addParticipant(helpdeskId, ticketNumber, 'partner@elsewhere.example');
        },
      },
      ref,
      testRunOptions(),
    );

    expect(result.supplemented).toEqual([ticketNumber]);
    const ticket = await scenario.deps.tickets.getTicket(helpdeskId, ticketNumber);
    expect(ticket?.participants).toContain('partner@elsewhere.example');
    expect(ticket?.participants).toContain('karin@customer.example');
    expect(ticket?.statusId).toBe('supplemented');
    expect((await mailRecords(scenario, helpdeskId)).map((record) => record.state)).toEqual([
      'stored',
      'stored',
    ]);
  });

  it('keeps a participant another person added between reading the list and writing it', async () => {
    const { ref, userId, helpdeskId } = await seedDesk(scenario, 'together');
    await deliver(userId, 'Scanner broken', 20);
    const ticketNumber = (await importMailbox(scenario.deps, ref, testRunOptions())).created[0] ?? 0;
    /** A store whose first read of the ticket is followed at once by someone else's addition. */
    class Interleaved extends CosmosTicketStore {
      private interleaved = false;

      override async getTicket(helpdesk: string, number: number) {
        const ticket = await super.getTicket(helpdesk, number);
        if (!this.interleaved) {
          this.interleaved = true;
          await new CosmosTicketStore(scenario.database).addParticipant(
            helpdesk,
            number,
            'two@elsewhere.example',
          );
        }
        return ticket;
      }
    }

    await new Interleaved(scenario.database).addParticipant(
      helpdeskId,
      ticketNumber,
      'one@elsewhere.example',
    );
    await scenario.deps.tickets.addParticipant(helpdeskId, ticketNumber, 'one@elsewhere.example');

    const ticket = await scenario.deps.tickets.getTicket(helpdeskId, ticketNumber);
    expect(ticket?.participants.filter((address) => address.endsWith('@elsewhere.example')).sort()).toEqual([
      'one@elsewhere.example',
      'two@elsewhere.example',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../shared/tickets/model.js';
import {
  historyEntry,
  type ImportedContent,
  newTicketFields,
  type ResolvedContact,
  supplementFields,
  ticketChangeOnSupplement,
  ticketFieldValues,
  ticketTitle,
} from '../../shared/tickets/ticketFields.js';
import { testContacts, testHelpdesk } from '../support/helpdeskFixtures.js';

const helpdesk = testHelpdesk('hd1', 'desk@hd1.test');
const [defaultContact, customer] = testContacts('hd1') as [
  ReturnType<typeof testContacts>[0],
  ReturnType<typeof testContacts>[0],
];

const content: ImportedContent = {
  subject: 'Printer broken',
  receivedAt: '2026-11-23T08:00:00.000Z',
  text: 'It does not print.\n\n> old quote',
  html: '<p>It does not print.</p>',
  reply: { text: 'It does not print.', html: '<p>It does not print.</p>' },
  images: [],
  files: [],
  attachmentsNotStored: [],
  origin: {
    messageKey: 'key-1',
    mailboxId: 'main',
    internetMessageId: '<a@b>',
    sender: { address: 'karin@customer.example', name: 'Karin Klant' },
    rawMailBlob: null,
    attachments: [],
  },
};

const known: ResolvedContact = {
  contact: customer,
  senderAddress: 'karin@customer.example',
  isDefault: false,
};
const unknown: ResolvedContact = {
  contact: defaultContact,
  senderAddress: 'stranger@else.example',
  isDefault: true,
};

describe('newTicketFields (R7)', () => {
  it('fills every field of a new ticket from the mail and the helpdesk defaults', () => {
    const ticket = newTicketFields({
      helpdesk,
      ticketNumber: 7,
      sender: known,
      content,
      importedAt: '2026-11-23T08:01:00.000Z',
    });
    expect(ticket).toEqual({
      id: 'ticket',
      docType: 'ticket',
      ticketKey: 'hd1/7',
      helpdeskId: 'hd1',
      number: 7,
      organisation: { id: 'org-customer', name: 'Customer Ltd' },
      contact: { id: 'known-customer', name: 'Karin Klant', email: 'karin@customer.example' },
      createdBy: { id: 'emp-importer', name: 'Importer Bot' },
      reportedAt: '2026-11-23T08:00:00.000Z',
      channel: 'mail',
      mailSubject: 'Printer broken',
      title: 'Printer broken',
      requestText: content.text,
      requestHtml: content.html,
      images: [],
      typeId: 'question',
      priorityId: 'p3',
      environmentId: 'production',
      categoryId: null,
      subcategoryId: null,
      ticketManager: { id: 'emp-manager', name: 'Tess Manager' },
      assignee: { id: 'emp-assignee', name: 'Aziz Assignee' },
      department: null,
      relatedTicketNumber: null,
      externalId: null,
      plannedDate: null,
      deadline: null,
      recalculateDeadline: false,
      inProgressDate: null,
      completedDate: null,
      projectId: null,
      evaluation: null,
      timeEstimateHours: null,
      statusId: 'imported',
      participants: ['karin@customer.example'],
      links: [],
      lastModifiedAt: '2026-11-23T08:01:00.000Z',
      lastModifiedBy: { id: 'emp-importer', name: 'Importer Bot' },
      source: content.origin,
    });
  });

  it('uses the default contact and its organisation for an unknown sender', () => {
    const ticket = newTicketFields({ helpdesk, ticketNumber: 8, sender: unknown, content, importedAt: 'x' });
    expect(ticket.contact.id).toBe('default-contact');
    expect(ticket.organisation).toEqual({ id: 'org-default', name: 'Default Organisation' });
    expect(ticket.participants).toContain('stranger@else.example');
  });

  it('leaves defaults empty when the helpdesk has none', () => {
    const bare = testHelpdesk('hd2', 'desk@hd2.test', {}, { defaults: {} });
    const ticket = newTicketFields({
      helpdesk: bare,
      ticketNumber: 1,
      sender: known,
      content,
      importedAt: 'x',
    });
    expect([
      ticket.typeId,
      ticket.priorityId,
      ticket.environmentId,
      ticket.ticketManager,
      ticket.assignee,
    ]).toEqual([null, null, null, null, null]);
  });

  it('makes a readable title from any subject', () => {
    expect(ticketTitle('  Re:\tprinter \r\n broken ')).toBe('Re: printer broken');
    expect(ticketTitle('')).toBe('(no subject)');
    expect(ticketTitle('x'.repeat(400))).toHaveLength(255);
  });
});

describe('supplementFields and ticketChangeOnSupplement (R8)', () => {
  const ticket = newTicketFields({ helpdesk, ticketNumber: 7, sender: known, content, importedAt: 'x' });

  it('fills the supplement from the mail, the sender and the status settings', () => {
    const supplement = supplementFields({
      helpdesk,
      ticket,
      sender: known,
      content,
      importedAt: '2026-11-23T09:00:00.000Z',
      flagged: null,
      automatic: null,
      internal: false,
    });
    expect(supplement).toMatchObject({
      id: 'supplement-key-1',
      ticketKey: 'hd1/7',
      ticketNumber: 7,
      reportedAt: '2026-11-23T08:00:00.000Z',
      supplementType: 'importedFromMail',
      informationProvider: { id: 'known-customer', name: 'Karin Klant' },
      createdBy: { id: 'known-customer', name: 'Karin Klant' },
      description: 'It does not print.',
      fullText: content.text,
      visibleToCustomer: true,
      expanded: false,
      lastModifiedBy: { id: 'emp-importer', name: 'Importer Bot' },
      lastModifiedAt: '2026-11-23T09:00:00.000Z',
    });
  });

  it('sets the status after a customer supplement and keeps the deadline unless recalculation is on', () => {
    const change = ticketChangeOnSupplement({
      addSender: true,
      internal: false,
      helpdesk,
      ticket,
      sender: unknown,
      receivedAt: content.receivedAt,
      importedAt: 'now',
    });
    expect(change.statusId).toBe('supplemented');
    expect(change.deadline).toBeNull();
    expect(change.participants).toEqual(['karin@customer.example', 'stranger@else.example']);

    const recalculating = testHelpdesk(
      'hd1',
      'desk@hd1.test',
      {},
      { recalculateDeadline: true, deadlineHours: 8 },
    );
    const recalculated = newTicketFields({
      helpdesk: recalculating,
      ticketNumber: 7,
      sender: known,
      content,
      importedAt: 'x',
    });
    const later = ticketChangeOnSupplement({
      addSender: true,
      internal: false,
      helpdesk: recalculating,
      ticket: recalculated,
      sender: known,
      receivedAt: '2026-11-24T10:00:00.000Z',
      importedAt: 'now',
    });
    expect(later.deadline).toBe('2026-11-24T18:00:00.000Z');
    const internal = ticketChangeOnSupplement({
      addSender: false,
      internal: true,
      helpdesk: recalculating,
      ticket: recalculated,
      sender: unknown,
      receivedAt: '2026-11-24T10:00:00.000Z',
      importedAt: 'now',
    });
    expect(internal).toMatchObject({ statusId: recalculated.statusId, deadline: recalculated.deadline });
  });

  it('attack: an internal supplement from a stranger is hidden from the customer whatever the status says', () => {
    const supplement = supplementFields({
      helpdesk,
      ticket,
      sender: unknown,
      content,
      importedAt: 'now',
      flagged: 'Sender is not related to this ticket.',
      automatic: null,
      internal: true,
    });
    expect(supplement.visibleToCustomer).toBe(false);
  });

  it("defect: with recalculation on and no deadlineHours, a supplement restarts the ticket's own lead time from the mail (seed 000)", () => {
    const recalculating = testHelpdesk('hd1', 'desk@hd1.test', {}, { recalculateDeadline: true });
    const withDeadline: Ticket = {
      ...newTicketFields({
        helpdesk: recalculating,
        ticketNumber: 9,
        sender: known,
        content,
        importedAt: 'x',
      }),
      reportedAt: '2026-11-23T08:00:00.000Z',
      // Set by an agent: three days after the report.
      deadline: '2026-11-26T08:00:00.000Z',
    };
    const change = (ticket: Ticket, helpdesk = recalculating) =>
      ticketChangeOnSupplement({
        addSender: true,
        internal: false,
        helpdesk,
        ticket,
        sender: known,
        receivedAt: '2026-11-25T12:00:00.000Z',
        importedAt: 'now',
      }).deadline;
    expect(change(withDeadline)).toBe('2026-11-28T12:00:00.000Z');
    // Nothing to recalculate from: it stays.
    expect(change({ ...withDeadline, deadline: null })).toBeNull();
    expect(change({ ...withDeadline, deadline: '2026-11-22T08:00:00.000Z' })).toBe(
      '2026-11-22T08:00:00.000Z',
    );
    // The flag on the ticket decides, not the helpdesk's current setting.
    expect(change({ ...withDeadline, recalculateDeadline: false })).toBe('2026-11-26T08:00:00.000Z');
    // deadlineHours, when set, is the helpdesk's own rule and wins.
    const hours = testHelpdesk('hd1', 'desk@hd1.test', {}, { recalculateDeadline: true, deadlineHours: 4 });
    expect(change(withDeadline, hours)).toBe('2026-11-25T16:00:00.000Z');
  });

  it('gives history entries a deterministic id so a retry writes the same entry', () => {
    const a = historyEntry({
      ticket,
      event: 'createdByMailImport',
      at: '1',
      by: helpdesk.importer.defaultEmployee,
      text: 't',
      messageKey: 'k',
    });
    const b = historyEntry({
      ticket,
      event: 'createdByMailImport',
      at: '2',
      by: helpdesk.importer.defaultEmployee,
      text: 't',
      messageKey: 'k',
    });
    expect(a.id).toBe(b.id);
  });
});

describe('what rules change on a ticket (R19)', () => {
  const relation = { entity: 'relation', number: '000123', parts: ['000123'], source: 'subject' as const };
  const project = { entity: 'project', number: '12-3-1', parts: ['12', '3', '1'], source: 'rule:x' as const };

  it('a new ticket takes the fields and links; a status the helpdesk lacks is not set', () => {
    const ticket = newTicketFields({
      helpdesk,
      ticketNumber: 8,
      sender: known,
      content,
      importedAt: 'now',
      rules: { setFields: { priorityId: 'high', categoryId: 'billing', statusId: 'new' }, links: [relation] },
    });
    expect(ticket).toMatchObject({
      priorityId: 'high',
      categoryId: 'billing',
      typeId: 'question',
      statusId: 'new',
      links: [relation],
    });
    const unknownStatus = newTicketFields({
      helpdesk,
      ticketNumber: 9,
      sender: known,
      content,
      importedAt: 'now',
      rules: { setFields: { statusId: 'gone' }, links: [] },
    });
    expect(unknownStatus.statusId).toBe('imported');
  });

  it('a supplement sets the fields and adds its links once to those of the ticket', () => {
    const ticket = {
      ...newTicketFields({ helpdesk, ticketNumber: 10, sender: known, content, importedAt: 'now' }),
      links: [relation],
    };
    const change = ticketChangeOnSupplement({
      addSender: true,
      internal: false,
      helpdesk,
      ticket,
      sender: known,
      receivedAt: content.receivedAt,
      importedAt: 'now',
      rules: { setFields: { statusId: 'new', priorityId: 'p1' }, links: [relation, project] },
    });
    expect(change).toMatchObject({
      statusId: 'new',
      fields: { priorityId: 'p1' },
      links: [relation, project],
    });
    const internal = ticketChangeOnSupplement({
      addSender: false,
      internal: true,
      helpdesk,
      ticket,
      sender: known,
      receivedAt: content.receivedAt,
      importedAt: 'now',
      rules: { setFields: { statusId: 'new' }, links: [] },
    });
    expect(internal.statusId).toBe(ticket.statusId);
  });

  describe("the helpdesk's lists: assignee, department and the optional lists", () => {
    const listed = testHelpdesk(
      'hd1',
      'desk@hd1.test',
      {},
      {
        employees: [{ id: 'emp-7', name: 'Eva Expert' }],
        departments: [{ id: 'finance', name: 'Finance' }],
        priorities: [{ id: 'high', name: 'High' }],
      },
    );

    it('a new ticket gets the assignee and department by their names; values no longer listed are not set', () => {
      const setFields = {
        assigneeId: 'emp-7',
        departmentId: 'finance',
        priorityId: 'high',
        categoryId: 'anything',
      } as const;
      const ticket = newTicketFields({
        helpdesk: listed,
        ticketNumber: 11,
        sender: known,
        content,
        importedAt: 'now',
        rules: { setFields, links: [] },
      });
      expect(ticket).toMatchObject({
        assignee: { id: 'emp-7', name: 'Eva Expert' },
        department: { id: 'finance', name: 'Finance' },
        priorityId: 'high',
        // No list of categories: any id is taken.
        categoryId: 'anything',
      });
      expect(ticketFieldValues(listed, setFields).notSet).toEqual([]);
      const gone = { assigneeId: 'emp-left', departmentId: 'closed', priorityId: 'p9' } as const;
      const stale = newTicketFields({
        helpdesk: listed,
        ticketNumber: 12,
        sender: known,
        content,
        importedAt: 'now',
        rules: { setFields: gone, links: [] },
      });
      expect(stale).toMatchObject({ assignee: listed.defaults.assignee, department: null, priorityId: 'p3' });
      expect(ticketFieldValues(listed, gone).notSet).toEqual([
        'assigneeId emp-left',
        'departmentId closed',
        'priorityId p9',
      ]);
    });

    it('a supplement changes only the fields that differ from the ticket, the assignee and department with names', () => {
      const ticket = newTicketFields({
        helpdesk: listed,
        ticketNumber: 13,
        sender: known,
        content,
        importedAt: 'now',
        rules: { setFields: { priorityId: 'high' }, links: [] },
      });
      const change = ticketChangeOnSupplement({
        addSender: true,
        internal: false,
        helpdesk: listed,
        ticket,
        sender: known,
        receivedAt: content.receivedAt,
        importedAt: 'now',
        rules: {
          setFields: { priorityId: 'high', typeId: 'incident', assigneeId: 'emp-7', departmentId: 'finance' },
          links: [],
        },
      });
      expect(change.fields).toEqual({
        typeId: 'incident',
        assignee: { id: 'emp-7', name: 'Eva Expert' },
        department: { id: 'finance', name: 'Finance' },
      });
    });
  });
});

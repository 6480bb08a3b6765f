import { type Helpdesk, helpdeskSchema } from '../../shared/helpdesk/settings.js';
import type { Contact } from '../../shared/tickets/model.js';

/** A helpdesk as an administrator would set one up; tests override what they are about. */
export function testHelpdesk(
  id: string,
  mailboxUserId: string,
  importer: Record<string, unknown> = {},
  rest: Record<string, unknown> = {},
): Helpdesk {
  return helpdeskSchema.parse({
    id,
    name: `Helpdesk ${id}`,
    defaults: {
      typeId: 'question',
      priorityId: 'p3',
      environmentId: 'production',
      ticketManager: { id: 'emp-manager', name: 'Tess Manager' },
      assignee: { id: 'emp-assignee', name: 'Aziz Assignee' },
    },
    recalculateDeadline: false,
    statuses: [
      { id: 'new', name: 'New' },
      { id: 'imported', name: 'E-mail Geïmporteerd', flags: ['imported'] },
      { id: 'supplemented', name: 'Customer supplemented', visibleToCustomer: true, expanded: false },
    ],
    statusAfterCustomerSupplementId: 'supplemented',
    importer: {
      mailboxes: [{ id: 'main', userId: mailboxUserId }],
      defaultContactId: 'default-contact',
      defaultEmployee: { id: 'emp-importer', name: 'Importer Bot' },
      replySeparator: '==== vul boven deze regel uw reactie ====',
      ...importer,
    },
    ...rest,
  });
}

export function testContacts(helpdeskId: string): Contact[] {
  return [
    {
      id: 'default-contact',
      helpdeskId,
      name: 'Default Contact',
      emailLower: `default@${helpdeskId}.test`,
      organisation: { id: 'org-default', name: 'Default Organisation' },
    },
    {
      id: 'known-customer',
      helpdeskId,
      name: 'Karin Klant',
      emailLower: 'karin@customer.example',
      organisation: { id: 'org-customer', name: 'Customer Ltd' },
    },
    {
      id: 'colleague',
      helpdeskId,
      name: 'Cees Collega',
      emailLower: 'cees@customer.example',
      organisation: { id: 'org-customer', name: 'Customer Ltd' },
    },
  ];
}

import { type Helpdesk, helpdeskSchema } from '../shared/helpdesk/settings.js';
import type { ContactDirectory, HelpdeskStore } from '../shared/import/ports.js';
import type { Contact } from '../shared/tickets/model.js';

export const DEMO_MAILBOX = 'servicedesk@demo.helpdesk.test';

/**
 * The demo helpdesk `npm start` seeds: statuses, employees and departments, defaults, one mailbox, and a few
 * known contacts.
 */
export function demoHelpdesk(mailboxUserId = DEMO_MAILBOX): Helpdesk {
  return helpdeskSchema.parse({
    id: 'demo',
    name: 'Demo Servicedesk',
    defaults: {
      typeId: 'incident',
      priorityId: 'normal',
      ticketManager: { id: 'emp-2', name: 'Mila de Vries' },
    },
    recalculateDeadline: true,
    deadlineHours: 24,
    statuses: [
      { id: 'new', name: 'New' },
      { id: 'mail-imported', name: 'E-mail imported', flags: ['imported'] },
      { id: 'customer-replied', name: 'Customer replied', visibleToCustomer: true, expanded: true },
      { id: 'waiting', name: 'Waiting for customer', flags: ['waitingForCustomer'] },
      { id: 'closed', name: 'Closed', flags: ['closed'] },
    ],
    statusAfterCustomerSupplementId: 'customer-replied',
    employees: [
      { id: 'emp-2', name: 'Mila de Vries' },
      { id: 'emp-3', name: 'Sander Bakker' },
    ],
    departments: [
      { id: 'support', name: 'Support' },
      { id: 'finance', name: 'Finance' },
    ],
    importer: {
      enabled: true,
      mailboxes: [{ id: 'servicedesk', userId: mailboxUserId, folder: 'inbox' }],
      defaultContactId: 'unknown-sender',
      defaultEmployee: { id: 'emp-1', name: 'Mail Importer' },
      replySeparator: '==== reply above this line ====',
      acknowledgement: { newTicket: { enabled: true } },
    },
  });
}

export function demoContacts(helpdeskId = 'demo'): Contact[] {
  return [
    {
      id: 'unknown-sender',
      helpdeskId,
      name: 'Unknown sender',
      emailLower: 'unknown-sender@demo.helpdesk.test',
      organisation: { id: 'org-unknown', name: 'Unknown organisation' },
    },
    {
      id: 'anna-jansen',
      helpdeskId,
      name: 'Anna Jansen',
      emailLower: 'anna.jansen@klant.example',
      organisation: { id: 'org-klant', name: 'Klant BV' },
    },
    {
      id: 'piet-de-bakker',
      helpdeskId,
      name: 'Piet de Bakker',
      emailLower: 'piet@bakkerij.example',
      organisation: { id: 'org-korenschoof', name: 'Bakkerij De Korenschoof' },
    },
  ];
}

export async function seedDemo(
  stores: { helpdesks: HelpdeskStore; contacts: ContactDirectory },
  helpdesk: Helpdesk,
) {
  await stores.helpdesks.put(helpdesk);
  for (const contact of demoContacts(helpdesk.id)) await stores.contacts.put(contact);
}

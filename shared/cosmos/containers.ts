import type { Container, Database, ItemDefinition, OperationInput, OperationResponse } from '@azure/cosmos';

/**
 * The containers the app uses, with their partition keys. infra/app/cosmos.bicep creates the same in
 * Azure; `ensureContainers` creates them on the local emulator.
 *
 * - helpdesks (/helpdeskId): helpdesk settings, mailbox status, leases, ticket counter, acknowledgement log
 * - contacts  (/helpdeskId): contacts with their organisation, looked up by lower-cased address
 * - tickets   (/ticketKey = "helpdeskId/number"): a ticket, its supplements and history in one partition,
 *   so (helpdesk, number) is a point read and everything of a ticket is one single-partition query
 * - mail      (/mailboxKey = "helpdeskId/mailboxId"): one record per source message (what was done with it)
 * - threads   (/helpdeskId): Message-ID → ticket number, for threading by In-Reply-To/References (R17)
 */
export const CONTAINERS = {
  helpdesks: { id: 'helpdesks', partitionKey: '/helpdeskId' },
  contacts: { id: 'contacts', partitionKey: '/helpdeskId' },
  tickets: { id: 'tickets', partitionKey: '/ticketKey' },
  mail: { id: 'mail', partitionKey: '/mailboxKey' },
  threads: { id: 'threads', partitionKey: '/helpdeskId' },
} as const;

export type ContainerName = keyof typeof CONTAINERS;

export function container(database: Database, name: ContainerName): Container {
  return database.container(CONTAINERS[name].id);
}

export async function ensureContainers(database: Database): Promise<void> {
  await database.client.databases.createIfNotExists({ id: database.id });
  for (const definition of Object.values(CONTAINERS)) {
    await database.containers.createIfNotExists({
      id: definition.id,
      partitionKey: { paths: [definition.partitionKey] },
    });
  }
}

/** Status code of a Cosmos error, or undefined for anything else. */
export function cosmosStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

/**
 * A transactional batch in one partition; each operation names the partition too (the batch's own would do
 * for the service, not for the emulator). The operations' responses in order, or null when the batch failed
 * as a whole (the SDK drops its status): the caller writes one by one then.
 */
export async function batchInPartition(
  container: Container,
  partitionKey: string,
  operations: Array<DistributiveOmit<OperationInput, 'partitionKey'>>,
): Promise<OperationResponse[] | null> {
  try {
    const { result } = await container.items.batch(
      operations.map((operation) => ({ ...operation, partitionKey }) as OperationInput),
      partitionKey,
    );
    return result ?? null;
  } catch {
    return null;
  }
}

/** Whether every operation of a batch went through. */
export const allWritten = (responses: OperationResponse[] | null): boolean =>
  responses?.every((operation) => operation.statusCode < 400) ?? false;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export async function readOrNull<T extends ItemDefinition>(
  container: Container,
  id: string,
  partitionKey: string,
) {
  try {
    const response = await container.item(id, partitionKey).read<T>();
    return response.resource ? { resource: response.resource, etag: response.etag } : null;
  } catch (error) {
    if (cosmosStatus(error) === 404) return null;
    throw error;
  }
}

// Child-process entry of the local stack (local/stack.ts): the Cosmos DB emulator runs apart from the
// importer so the importer's memory can be measured on its own. Prints its port once listening.
import { createHttpsServer } from '@vercel/cosmosdb-server';

// keepAlive makes the emulator answer "connection: keep-alive"; otherwise every request pays a TLS handshake.
const server = createHttpsServer({ keepAlive: true }).listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('cosmosdb-server has no TCP address');
  console.log(`cosmosdb-server listening on port ${address.port}`);
});

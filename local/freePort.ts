import { createServer } from 'node:net';

/**
 * A loopback port free at the moment: for a server whose URL must be known before it starts (the
 * notification URL goes into the app's settings before the local host listens on it).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free loopback port');
  return address.port;
}

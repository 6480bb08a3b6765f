/**
 * Crash injection for the exactly-once tests and `npm run chaos`: the import's dependencies as one
 * process that can die at a checkpoint, or just before or just after any call of a port (so the call's
 * effect is lost or made). Once dead, every further call of the process fails at once: nothing of a
 * dead process runs on — no failure bookkeeping, no status update, no lease release — and the job's
 * redelivery has to cope with whatever it left behind.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImportDependencies } from '../shared/import/dependencies.js';
import type { ImportStep } from '../shared/import/importMessage.js';

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

export interface CrashPlan {
  /** Whether the process dies at this checkpoint. */
  atStep?(step: ImportStep): boolean;
  /** Whether the process dies around this port call (e.g. `tickets.createTicket`), and on which side. */
  atCall?(call: string): 'before' | 'after' | null;
  /** Milliseconds the call is held up before it is made (a stalled process), or 0. */
  stallBefore?(call: string): number;
}

export interface CrashingProcess<D extends ImportDependencies = ImportDependencies> {
  deps: D;
  /** Where the process died, or null while it lives. */
  diedAt(): string | null;
}

const PORTS = ['helpdesks', 'contacts', 'tickets', 'records', 'images', 'rawMail', 'mailSource'] as const;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** `extraPorts`: further ports of a use case's dependencies (the reply store, …) that die with the process. */
export function crashingProcess<D extends ImportDependencies>(
  base: D,
  plan: CrashPlan,
  extraPorts: ReadonlyArray<keyof D & string> = [],
): CrashingProcess<D> {
  let died: string | null = null;
  const die = (where: string): never => {
    died ??= where;
    throw new SimulatedCrash(`process died ${where}`);
  };
  const alive = (call: string): void => {
    if (died) throw new SimulatedCrash(`process died ${died}; ${call} never happened`);
  };

  async function* guarded(call: string, pages: AsyncIterable<unknown>, dieFirst: boolean) {
    if (dieFirst) die(`after ${call}`);
    for await (const page of pages) {
      alive(call);
      yield page;
    }
  }

  const invoke = (call: string, run: () => unknown, generator: boolean): unknown => {
    try {
      return attempt(call, run, generator);
    } catch (error) {
      // An async method fails through its promise, never by throwing at the call: so does the crash.
      if (generator) throw error;
      return Promise.reject(error);
    }
  };

  const attempt = (call: string, run: () => unknown, generator: boolean): unknown => {
    alive(call);
    const point = plan.atCall?.(call) ?? null;
    if (point === 'before') die(`before ${call}`);
    const stall = plan.stallBefore?.(call) ?? 0;
    if (stall === 0) {
      const result = run();
      if (generator && isAsyncIterable(result)) return guarded(call, result, point === 'after');
      return settle(call, point, result);
    }
    if (generator) return stalledPages(call, stall, run, point === 'after');
    return sleep(stall).then(() => {
      alive(call);
      return settle(call, point, run());
    });
  };

  // A listing must stay an async iterable even when it stalls first: the stall goes before its first page.
  async function* stalledPages(call: string, stall: number, run: () => unknown, dieFirst: boolean) {
    await sleep(stall);
    alive(call);
    const result = run();
    if (isAsyncIterable(result)) yield* guarded(call, result, dieFirst);
  }

  const settle = async (call: string, point: 'before' | 'after' | null, result: unknown) => {
    const value: unknown = await result;
    if (died || point === 'after') {
      // The effect is made, but the process is gone (now, or meanwhile): what it returned is never used.
      if (value instanceof Readable) value.destroy();
      alive(call);
      die(`after ${call}`);
    }
    // The lease it hands out belongs to the same process: renewing or releasing it dies with it.
    return call === 'helpdesks.acquireLease' && typeof value === 'object' && value !== null
      ? wrap('lease', value)
      : value;
  };

  function wrap<T extends object>(name: string, port: T): T {
    return new Proxy(port, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        const call = `${name}.${property}`;
        const generator = value.constructor.name === 'AsyncGeneratorFunction';
        return (...args: unknown[]) => invoke(call, () => Reflect.apply(value, target, args), generator);
      },
    });
  }

  const deps: D = {
    ...base,
    checkpoint: async (step) => {
      alive(`checkpoint ${step}`);
      await base.checkpoint(step);
      if (plan.atStep?.(step)) die(`at ${step}`);
    },
  };
  for (const port of [...PORTS, ...extraPorts]) {
    Object.assign(deps, { [port]: wrap(port, base[port] as object) });
  }
  return { deps, diedAt: () => died };
}

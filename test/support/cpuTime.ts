/**
 * The CPU time this test process spent on `work`, in milliseconds. Bounds on hostile input are checked in CPU
 * time, not wall time, so that other processes on a loaded machine (parallel test files, a busy CI host)
 * cannot fail them, while a quadratic regression still spends the time and still fails.
 */
export function cpuTimed<T>(work: () => T): { result: T; ms: number } {
  const start = process.cpuUsage();
  const result = work();
  const used = process.cpuUsage(start);
  return { result, ms: (used.user + used.system) / 1000 };
}

export const cpuMs = (work: () => unknown): number => cpuTimed(work).ms;

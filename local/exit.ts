/**
 * Ends a command of local/ with `code` once everything it wrote to stdout and stderr is handed to the
 * OS. `process.exit` right away drops what is still queued: output piped into another program (`| jq`)
 * is cut at the pipe's buffer size, 64 KiB.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all(
    [process.stdout, process.stderr].map(
      // A write's callback runs after every earlier write to that stream has completed.
      (stream) => new Promise<void>((resolve) => stream.write('', () => resolve())),
    ),
  );
  process.exit(code);
}

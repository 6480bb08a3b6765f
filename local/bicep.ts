/**
 * The Bicep CLI for `npm run infra:check` and the infra tests: where to find it, and its diagnostics for a
 * template (compiler and linter together), read from its SARIF output.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);

/** How to get the CLI, for every message that says it is missing. */
export const BICEP_RESTORE_HINT =
  'to get one: dotnet restore .ci/bicep (the pinned Bicep CLI from NuGet), install azd, or set BICEP_PATH';

export interface BicepCli {
  path: string;
  /** Where it was found, for the one line that says which CLI checked the templates. */
  source: 'BICEP_PATH' | 'PATH' | 'azd' | 'NuGet cache';
}

export interface BicepSearch {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  platform: NodeJS.Platform;
  arch: string;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** NuGet's runtime identifier of this machine, the suffix of the CLI's package name. */
function runtimeIdentifier(platform: NodeJS.Platform, arch: string): string | undefined {
  const system = { linux: 'linux', darwin: 'osx', win32: 'win' }[platform as string];
  const cpu = { x64: 'x64', arm64: 'arm64' }[arch];
  return system && cpu ? `${system}-${cpu}` : undefined;
}

function newestFirst(a: string, b: string): number {
  const [x, y] = [a, b].map((version) => version.split('.').map(Number));
  for (let i = 0; i < 3; i++) {
    const difference = (y?.[i] ?? 0) - (x?.[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function fromNuGetCache(search: BicepSearch, executable: string): string | undefined {
  const rid = runtimeIdentifier(search.platform, search.arch);
  if (!rid) return undefined;
  const packages = search.env.NUGET_PACKAGES || path.join(search.home, '.nuget', 'packages');
  const packageDir = path.join(packages, `azure.bicep.commandline.${rid}`);
  let versions: string[];
  try {
    versions = readdirSync(packageDir).filter((name) => /^\d+\.\d+\.\d+$/.test(name));
  } catch {
    return undefined;
  }
  return versions
    .sort(newestFirst)
    .map((version) => path.join(packageDir, version, 'tools', executable))
    .find(isFile);
}

/**
 * The Bicep CLI, looked for in this order: BICEP_PATH, `bicep` on PATH, azd's own copy (~/.azd/bin), the
 * NuGet package cache (NUGET_PACKAGES or ~/.nuget/packages, newest version). Undefined when there is none;
 * a BICEP_PATH that names no file is an error, not a reason to look elsewhere.
 */
export function findBicep(search: BicepSearch = thisMachine()): BicepCli | undefined {
  const executable = search.platform === 'win32' ? 'bicep.exe' : 'bicep';
  const explicit = search.env.BICEP_PATH;
  if (explicit) {
    if (!isFile(explicit)) throw new Error(`BICEP_PATH=${explicit} is not a file`);
    return { path: explicit, source: 'BICEP_PATH' };
  }
  const onPath = (search.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, executable))
    .find(isFile);
  if (onPath) return { path: onPath, source: 'PATH' };
  const azd = path.join(search.home, '.azd', 'bin', executable);
  if (isFile(azd)) return { path: azd, source: 'azd' };
  const nuget = fromNuGetCache(search, executable);
  return nuget ? { path: nuget, source: 'NuGet cache' } : undefined;
}

export function thisMachine(): BicepSearch {
  return { env: process.env, home: os.homedir(), platform: process.platform, arch: process.arch };
}

/**
 * NuGet extracts the CLI without the execute bit on some systems; give it one when we may, or say what to do.
 */
export function ensureExecutable(cli: BicepCli): void {
  try {
    accessSync(cli.path, constants.X_OK);
  } catch {
    try {
      chmodSync(cli.path, statSync(cli.path).mode | 0o111);
    } catch {
      throw new Error(`${cli.path} is not executable and cannot be made so: chmod +x it`);
    }
  }
}

export interface BicepDiagnostic {
  /** Path relative to the working directory the check ran in. */
  file: string;
  line: number;
  column: number;
  /** SARIF level: error, warning (the default when the CLI leaves it out) or note. */
  level: string;
  code: string;
  message: string;
}

const sarifSchema = z.object({
  runs: z.array(
    z.object({
      results: z.array(
        z.object({
          ruleId: z.string(),
          level: z.string().optional(),
          message: z.object({ text: z.string() }),
          locations: z
            .array(
              z.object({
                physicalLocation: z.object({
                  artifactLocation: z.object({ uri: z.string() }),
                  region: z.object({ startLine: z.number(), charOffset: z.number().optional() }),
                }),
              }),
            )
            .min(1),
        }),
      ),
    }),
  ),
});

function diagnosticsOf(command: string, output: string, cwd: string): BicepDiagnostic[] {
  let json: unknown;
  try {
    json = JSON.parse(output);
  } catch {
    // Not SARIF: the CLI could not start on the template at all (missing file, bad config).
    throw new Error(`bicep ${command}: ${output.trim() || 'no output'}`);
  }
  const parsed = sarifSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`bicep ${command}: unexpected SARIF: ${parsed.error.issues[0]?.message}`);
  return parsed.data.runs.flatMap((sarifRun) =>
    sarifRun.results.map((result) => {
      const location = result.locations[0]?.physicalLocation;
      const uri = location?.artifactLocation.uri ?? '';
      return {
        file: uri.startsWith('file:') ? path.relative(cwd, fileURLToPath(uri)) : uri,
        line: location?.region.startLine ?? 0,
        column: location?.region.charOffset ?? 0,
        level: result.level ?? 'warning',
        code: result.ruleId,
        // The CLI appends a documentation link in brackets; the code already leads there.
        message: result.message.text.replace(/\s*\[https:\/\/aka\.ms\/[^\]]+\]$/, ''),
      };
    }),
  );
}

/** Runs `bicep build` or `bicep lint` with SARIF diagnostics; a non-zero exit is a result, not a failure. */
async function bicepSarif(
  cli: BicepCli,
  args: [command: 'build' | 'lint', ...rest: string[]],
  cwd: string,
): Promise<{ diagnostics: BicepDiagnostic[]; ok: boolean }> {
  const [command] = args;
  let output: { stdout: string; stderr: string; ok: boolean };
  try {
    output = { ...(await run(cli.path, args, { cwd, maxBuffer: 64 * 1024 * 1024 })), ok: true };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: unknown };
    if (typeof failed.code !== 'number') throw error;
    output = { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', ok: false };
  }
  // With --stdout, build writes the template to stdout and the diagnostics to stderr; lint writes them to stdout.
  const sarif = command === 'build' ? output.stderr : output.stdout;
  return { diagnostics: diagnosticsOf(command, sarif || output.stderr, cwd), ok: output.ok };
}

export interface BicepCheck {
  /** Every diagnostic of `bicep build` and `bicep lint`, once each. */
  diagnostics: BicepDiagnostic[];
  /** false when either command exited with an error. */
  succeeded: boolean;
}

/**
 * `bicep build` (to nowhere) and `bicep lint` of one template with the given bicepconfig.json. Both report
 * the compiler's and the linter's diagnostics; build also catches what only emitting the ARM JSON finds.
 */
export async function checkTemplate(
  cli: BicepCli,
  template: string,
  config: string,
  cwd: string,
): Promise<BicepCheck> {
  ensureExecutable(cli);
  const common = ['--diagnostics-format', 'sarif', '--config', config];
  const [build, lint] = await Promise.all([
    bicepSarif(cli, ['build', template, '--stdout', ...common], cwd),
    bicepSarif(cli, ['lint', template, ...common], cwd),
  ]);
  const seen = new Set<string>();
  const diagnostics = [...build.diagnostics, ...lint.diagnostics].filter((diagnostic) => {
    const key = `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}:${diagnostic.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { diagnostics, succeeded: build.ok && lint.ok };
}

export function formatDiagnostic(diagnostic: BicepDiagnostic): string {
  const { file, line, column, level, code, message } = diagnostic;
  return `${file}:${line}:${column} ${level} ${code}: ${message}`;
}

export async function bicepVersion(cli: BicepCli): Promise<string> {
  ensureExecutable(cli);
  const { stdout } = await run(cli.path, ['--version']);
  return stdout.trim();
}

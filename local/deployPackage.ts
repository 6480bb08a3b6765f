/**
 * `npm run deploy:package`, azd's `prepackage` hook of the `api` service (azure.yaml): stages the Function
 * App's deployment package in .deploy/api, which azure.yaml's `dist:` points azd at, and prints one line with
 * its size. Exit code 1 with the failing step's message.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOY_PACKAGE_DIR, stageDeploymentPackage } from './packageStaging.js';

const projectDir = fileURLToPath(new URL('../', import.meta.url));
try {
  const { files, bytes } = await stageDeploymentPackage(
    projectDir,
    path.join(projectDir, DEPLOY_PACKAGE_DIR),
  );
  console.log(
    `deploy:package: ${DEPLOY_PACKAGE_DIR}: ${files} files, ${(bytes / 1e6).toFixed(1)} MB (production dependencies only)`,
  );
} catch (error) {
  const failed = error as { message?: string; stderr?: string };
  console.error(`deploy:package: ${failed.stderr?.trim() || failed.message || String(error)}`);
  process.exitCode = 1;
}

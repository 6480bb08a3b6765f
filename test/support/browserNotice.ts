import { browserMissing } from './browser.js';

/** One line when the browser tests of the admin console are skipped, so a green run says what it did not check. */
export default function setup(): void {
  const missing = browserMissing();
  if (missing) console.log(`Admin console browser tests skipped: ${missing}.`);
}

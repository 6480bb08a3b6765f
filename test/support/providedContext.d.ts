import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** App settings of the shared local stack (test/support/globalSetup.ts). */
    stackEnv: Record<string, string>;
  }
}

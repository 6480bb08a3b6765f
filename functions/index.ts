import { app } from '@azure/functions';
import { ConfigurationError, readEnvironment } from '../shared/config/environment.js';
import { allFunctions } from './definitions.js';

// Checked here so a bad setting shows as one clear line at start-up; the functions are registered
// regardless, so the app stays visible and each invocation reports the same line.
try {
  readEnvironment();
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  console.error(error.message);
}

for (const definition of allFunctions) {
  switch (definition.trigger) {
    case 'timer':
      app.timer(definition.name, { schedule: definition.schedule, handler: definition.handler });
      break;
    case 'queue':
      app.storageQueue(definition.name, {
        queueName: definition.queueName,
        connection: definition.connection,
        handler: definition.handler,
      });
      break;
    case 'http':
      app.http(definition.name, {
        methods: definition.methods,
        route: definition.route,
        authLevel: definition.authLevel,
        handler: definition.handler,
      });
      break;
  }
}

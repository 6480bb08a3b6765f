import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { environmentSchema } from '../../shared/config/environment.js';
import { CONTAINERS } from '../../shared/cosmos/containers.js';

/*
 * What the Bicep compiler cannot check (compile.test.ts runs the compiler): that infra/ agrees with the code
 * (app settings with the config schema, queues and containers with the names and partition keys the code
 * uses) and that it puts no key anywhere. Every .bicep file is parsed with tree-sitter-bicep, and the parse
 * trees are evaluated just enough to follow values from main.bicep into the modules; whatever only Azure
 * can compute (resource ids, outputs, function results) stays symbolic (`Opaque`). Runs without a CLI.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const infraDir = join(repoRoot, 'infra');

/** Settings the platform reads that are not in the app's schema. */
const PLATFORM_SETTINGS = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Identity-based host storage: the three settings that replace the AzureWebJobsStorage connection string. */
const IDENTITY_CONNECTION = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
];

/** Anything that smells like a key, a token or a password in a setting or an output. */
const SECRET_PATTERN =
  /AccountKey|SharedAccessSignature|listKeys\(|COSMOS_KEY|GRAPH_ACCESS_TOKEN|password|secret/i;
/** Names where a secret is kept, not the secret: the platform resolves it with the app's identity. */
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(VaultName=[^;)]+;SecretName=[^;)]+\)$/;

// ---- Values ----

/** A value the templates produce that only Azure can compute; `text` is the expression, as far as resolved. */
class Opaque {
  constructor(readonly text: string) {}
}
type Value = string | number | boolean | null | Opaque | Value[] | { [key: string]: Value };
type ValueRecord = { [key: string]: Value };

function isRecord(value: Value | undefined): value is ValueRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Opaque);
}

function textOf(value: Value | undefined): string {
  if (value instanceof Opaque) return value.text;
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Opaque ? v.text : v)) ?? 'undefined';
}

/** A property of an evaluated object; ARM property names are case-insensitive. */
function prop(value: Value | undefined, ...path: string[]): Value | undefined {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    const match = Object.keys(current).find((k) => k.toLowerCase() === key.toLowerCase());
    current = match === undefined ? undefined : current[match];
  }
  return current;
}

// ---- Parsing ----

interface Declaration {
  symbol: string;
  /** Resource type with API version, or the module's path. */
  type: string;
  existing: boolean;
  /** object, if_statement or for_statement */
  body: Node;
}

interface BicepFile {
  /** Path below infra/, with forward slashes. */
  path: string;
  root: Node;
  params: Map<string, Node>;
  vars: Map<string, Node>;
  outputs: Map<string, Node>;
  resources: Declaration[];
  modules: Declaration[];
}

interface Scope {
  file: BicepFile;
  bindings: ReadonlyMap<string, Value>;
}

const IGNORED = new Set(['comment', 'diagnostic_comment', 'decorators']);

function content(node: Node): Node[] {
  return node.namedChildren.filter((child) => !IGNORED.has(child.type));
}

function field(node: Node, name: string): Node {
  const child = node.childForFieldName(name);
  if (!child) throw new Error(`${node.type} at ${node.startPosition.row + 1} has no ${name}`);
  return child;
}

function stringLiteral(node: Node): string {
  return node.children
    .filter((child) => child.type === 'string_content')
    .map((child) => child.text)
    .join('');
}

function bicepFilesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bicepFilesBelow(path);
    return entry.name.endsWith('.bicep') ? [path] : [];
  });
}

function readBicep(parser: Parser, absolutePath: string): BicepFile {
  const tree = parser.parse(readFileSync(absolutePath, 'utf8'));
  if (!tree) throw new Error(`could not parse ${absolutePath}`);
  const file: BicepFile = {
    path: absolutePath.slice(infraDir.length + 1).replaceAll('\\', '/'),
    root: tree.rootNode,
    params: new Map(),
    vars: new Map(),
    outputs: new Map(),
    resources: [],
    modules: [],
  };
  for (const statement of tree.rootNode.namedChildren) {
    const parts = content(statement);
    const symbol = parts[0]?.text ?? '';
    const last = parts.at(-1);
    if (!last) continue;
    if (statement.type === 'parameter_declaration') file.params.set(symbol, statement);
    if (statement.type === 'variable_declaration') file.vars.set(symbol, last);
    if (statement.type === 'output_declaration') file.outputs.set(symbol, last);
    if (statement.type === 'resource_declaration' || statement.type === 'module_declaration') {
      const declaration: Declaration = {
        symbol,
        type: stringLiteral(parts[1] ?? last),
        existing: statement.children.some((child) => child.type === 'existing'),
        body: last,
      };
      (statement.type === 'module_declaration' ? file.modules : file.resources).push(declaration);
    }
  }
  return file;
}

await Parser.init();
const bicepLanguage = await Language.load(
  join(repoRoot, 'node_modules/tree-sitter-bicep/tree-sitter-bicep.wasm'),
);
const parser = new Parser();
parser.setLanguage(bicepLanguage);

const files = new Map(
  bicepFilesBelow(infraDir).map((path) => {
    const file = readBicep(parser, path);
    return [file.path, file] as const;
  }),
);

function bicep(path: string): BicepFile {
  const file = files.get(path);
  if (!file) throw new Error(`infra/${path} is missing`);
  return file;
}

// ---- Evaluation ----

function unescapeSequence(sequence: string): string {
  const simple: Record<string, string> = {
    "\\'": "'",
    '\\\\': '\\',
    '\\n': '\n',
    '\\r': '\r',
    '\\t': '\t',
    '\\$': '$',
  };
  return simple[sequence] ?? String.fromCodePoint(Number.parseInt(sequence.slice(3, -1), 16));
}

function evaluateString(node: Node, scope: Scope): Value {
  let literal = true;
  const parts = node.children.map((child) => {
    if (child.type === 'string_content') return child.text;
    if (child.type === 'escape_sequence') return unescapeSequence(child.text);
    if (child.type !== 'interpolation') return '';
    const inner = content(child)[0];
    const value = inner ? evaluate(inner, scope) : null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    literal = false;
    return `\${${textOf(value)}}`;
  });
  return literal ? parts.join('') : new Opaque(parts.join(''));
}

function lookup(name: string, scope: Scope): Value {
  const bound = scope.bindings.get(name);
  if (bound !== undefined) return bound;
  const variable = scope.file.vars.get(name);
  if (variable) return evaluate(variable, scope);
  const parameter = scope.file.params.get(name);
  const defaultValue = parameter ? content(parameter)[2] : undefined;
  if (defaultValue) return evaluate(defaultValue, scope);
  return new Opaque(name);
}

function evaluate(node: Node, scope: Scope): Value {
  switch (node.type) {
    case 'string':
      return evaluateString(node, scope);
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'array':
      return content(node).map((item) => evaluate(item, scope));
    case 'object': {
      const result: ValueRecord = {};
      for (const property of node.namedChildren.filter((child) => child.type === 'object_property')) {
        const [key, value] = content(property);
        if (!key || !value) continue;
        result[key.type === 'string' ? textOf(evaluate(key, scope)) : key.text] = evaluate(value, scope);
      }
      return result;
    }
    case 'identifier':
      return lookup(node.text, scope);
    case 'member_expression': {
      const objectNode = field(node, 'object');
      const name = field(node, 'property').text;
      // `resource.name` is the name the declaration gives; other resource properties are Azure's to compute.
      const resource = scope.file.resources.find((r) => r.symbol === objectNode.text);
      if (resource && name === 'name') return prop(bodyOf(resource, scope), 'name') ?? new Opaque(node.text);
      const object = evaluate(objectNode, scope);
      const value = isRecord(object) ? object[name] : undefined;
      return value === undefined ? new Opaque(`${textOf(object)}.${name}`) : value;
    }
    case 'parenthesized_expression': {
      const inner = content(node)[0];
      return inner ? evaluate(inner, scope) : null;
    }
    case 'ternary_expression': {
      const condition = evaluate(field(node, 'condition'), scope);
      if (typeof condition !== 'boolean') return new Opaque(node.text);
      return evaluate(field(node, condition ? 'consequence' : 'alternative'), scope);
    }
    case 'unary_expression': {
      const operator = field(node, 'operator').text;
      const argument = evaluate(field(node, 'argument'), scope);
      if (operator === '!' && typeof argument === 'boolean') return !argument;
      return new Opaque(`${operator}${textOf(argument)}`);
    }
    case 'call_expression': {
      const args = content(field(node, 'arguments')).map((arg) => textOf(evaluate(arg, scope)));
      return new Opaque(`${field(node, 'function').text}(${args.join(', ')})`);
    }
    default:
      return new Opaque(node.text);
  }
}

function rootScope(file: BicepFile): Scope {
  return { file, bindings: new Map() };
}

function objectOf(node: Node): Node {
  const object = node.type === 'object' ? node : content(node).find((child) => child.type === 'object');
  if (!object) throw new Error(`no object body at line ${node.startPosition.row + 1}`);
  return object;
}

/** The evaluated body of a resource or module that is not a loop (a condition, if any, is ignored). */
function bodyOf(declaration: Declaration, scope: Scope): Value {
  return evaluate(objectOf(declaration.body), scope);
}

/** The evaluated bodies of a resource loop, one per item of the collection. */
function loopBodies(declaration: Declaration, scope: Scope): Value[] {
  const loop = declaration.body;
  if (loop.type !== 'for_statement') throw new Error(`${declaration.symbol} is not a loop`);
  const variable = field(loop, 'initializer');
  const body = field(loop, 'body');
  const collection = content(loop).find((child) => child.id !== variable.id && child.id !== body.id);
  if (!collection) throw new Error(`${declaration.symbol}: loop without a collection`);
  const items = evaluate(collection, scope);
  if (!Array.isArray(items)) throw new Error(`${declaration.symbol}: ${textOf(items)} is not a known array`);
  return items.map((item) =>
    evaluate(objectOf(body), {
      file: scope.file,
      bindings: new Map([...scope.bindings, [variable.text, item]]),
    }),
  );
}

/** The module a file calls under `symbol`, and the scope its parameters are bound in. */
function moduleCall(scope: Scope, symbol: string): { target: BicepFile; scope: Scope } {
  const declaration = scope.file.modules.find((m) => m.symbol === symbol);
  if (!declaration) throw new Error(`${scope.file.path} has no module ${symbol}`);
  const target = bicep(posix.join(posix.dirname(scope.file.path), declaration.type));
  const args = prop(bodyOf(declaration, scope), 'params');
  const bindings = new Map(Object.entries(isRecord(args) ? args : {}));
  return { target, scope: { file: target, bindings } };
}

function resourcesOf(file: BicepFile, typePrefix: string): Declaration[] {
  return file.resources.filter((r) => r.type.toLowerCase().startsWith(`${typePrefix.toLowerCase()}@`));
}

function onlyResource(file: BicepFile, typePrefix: string): Declaration {
  const [first, ...others] = resourcesOf(file, typePrefix).filter((r) => !r.existing);
  if (!first || others.length > 0) throw new Error(`${file.path} should declare exactly one ${typePrefix}`);
  return first;
}

const main = rootScope(bicep('main.bicep'));
const api = moduleCall(main, 'api');
const storage = moduleCall(main, 'storage');
const cosmos = moduleCall(main, 'cosmos');
const rbac = moduleCall(main, 'rbac');
const schema = environmentSchema.shape;
type SettingName = keyof typeof schema;

function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(schema, name);
}

function schemaDefault(name: SettingName): unknown {
  const parsed = schema[name].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

const appSettingsResource = resourcesOf(api.target, 'Microsoft.Web/sites/config').find(
  (r) => prop(bodyOf(r, api.scope), 'name') === 'appsettings',
);
const appSettings = appSettingsResource
  ? prop(bodyOf(appSettingsResource, api.scope), 'properties')
  : undefined;
const settings: ValueRecord = isRecord(appSettings) ? appSettings : {};

// ---- Tests ----

describe('Function App', () => {
  const site = bodyOf(onlyResource(api.target, 'Microsoft.Web/sites'), api.scope);

  it('puts App Service authentication in front of every route but the change notifications webhook, the admin console included', () => {
    const auth = resourcesOf(api.target, 'Microsoft.Web/sites/config').find(
      (r) => prop(bodyOf(r, api.scope), 'name') === 'authsettingsV2',
    );
    const validation = auth ? prop(bodyOf(auth, api.scope), 'properties', 'globalValidation') : undefined;
    expect(prop(validation, 'requireAuthentication')).toBe(true);
    expect(prop(validation, 'unauthenticatedClientAction')).toBe('Return401');
    // Only Graph's webhook is let through unauthenticated (it checks clientState itself): /api/console and
    // the management API alike need a signed-in caller.
    expect(prop(validation, 'excludedPaths')).toEqual(['/api/notifications']);
  });

  it('sets every setting the app requires in Azure', () => {
    const requiredBySchema = (Object.keys(schema) as SettingName[]).filter(
      (name) => !schema[name].safeParse(undefined).success,
    );
    expect(requiredBySchema).toContain('COSMOS_ENDPOINT');
    const required = [...requiredBySchema, ...IDENTITY_CONNECTION, 'AZURE_CLIENT_ID'];
    expect(required.filter((name) => !(name in settings))).toEqual([]);
  });

  it('sets only settings the app or the platform knows', () => {
    expect(
      Object.keys(settings).filter((name) => !isSettingName(name) && !PLATFORM_SETTINGS.includes(name)),
    ).toEqual([]);
  });

  it('gives literal settings valid values, equal to the code defaults where the code has one', () => {
    for (const [name, value] of Object.entries(settings)) {
      if (!isSettingName(name) || value instanceof Opaque) continue;
      expect(schema[name].safeParse(value).success, `${name}=${textOf(value)}`).toBe(true);
      const fallback = schemaDefault(name);
      if (fallback !== undefined) expect(value, name).toEqual(fallback);
    }
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
  });

  it('connects host storage, Graph, Cosmos DB and telemetry with the one user-assigned identity', () => {
    const clientId = 'identity.outputs.clientId';
    expect(textOf(settings.AzureWebJobsStorage__clientId)).toBe(clientId);
    expect(textOf(settings.AZURE_CLIENT_ID)).toBe(clientId);
    expect(textOf(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)).toBe(
      `ClientId=\${${clientId}};Authorization=AAD`,
    );
    expect(textOf(settings.AzureWebJobsStorage__accountName)).toBe('storage.outputs.name');
    expect(textOf(rbac.scope.bindings.get('storageAccountName'))).toBe('storage.outputs.name');
    expect(prop(site, 'identity')).toEqual({
      type: 'UserAssigned',
      userAssignedIdentities: { '${identity.outputs.id}': {} },
    });
  });

  it('points settings at the queue, containers and database the templates create', () => {
    const queues = loopBodies(
      onlyResource(storage.target, 'Microsoft.Storage/storageAccounts/queueServices/queues'),
      storage.scope,
    );
    const containers = loopBodies(
      onlyResource(storage.target, 'Microsoft.Storage/storageAccounts/blobServices/containers'),
      storage.scope,
    );
    expect(queues.map((q) => prop(q, 'name'))).toContain(settings.IMPORT_QUEUE_NAME);
    expect(queues.map((q) => prop(q, 'name'))).toContain(settings.REPLY_QUEUE_NAME);
    for (const name of ['IMAGES_CONTAINER', 'RAW_MAIL_CONTAINER', 'KEPT_ASIDE_CONTAINER']) {
      expect(containers.map((c) => prop(c, 'name'))).toContain(settings[name]);
    }
    const database = bodyOf(
      onlyResource(cosmos.target, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases'),
      cosmos.scope,
    );
    expect(prop(database, 'name')).toBe(settings.COSMOS_DATABASE);
    expect(textOf(settings.COSMOS_ENDPOINT)).toBe('cosmos.outputs.endpoint');
  });
});

describe('no keys, no secrets', () => {
  it('never fetches keys or connection strings (no list*() call)', () => {
    for (const file of files.values()) {
      const calls = file.root
        .descendantsOfType('call_expression')
        .map((call) => field(call, 'function').text);
      expect(
        calls.filter((name) => /(^|\.)list[A-Z]\w*$/.test(name)),
        file.path,
      ).toEqual([]);
    }
  });

  it('puts no key, token or password in an app setting', () => {
    expect(settings).not.toHaveProperty('AzureWebJobsStorage');
    for (const [name, value] of Object.entries(settings)) {
      if (KEY_VAULT_REFERENCE.test(textOf(value))) continue;
      expect(`${name}=${textOf(value)}`).not.toMatch(SECRET_PATTERN);
    }
    // The one secret the app has comes from Key Vault.
    expect(textOf(settings.NOTIFICATION_CLIENT_STATE_SECRET)).toMatch(KEY_VAULT_REFERENCE);
  });

  it('outputs no key, token or password', () => {
    for (const file of files.values()) {
      for (const [name, node] of file.outputs) {
        expect(`${name}=${textOf(evaluate(node, rootScope(file)))}`).not.toMatch(SECRET_PATTERN);
      }
    }
  });

  it('turns off shared keys and public blobs on the storage account', () => {
    const account = prop(
      bodyOf(onlyResource(storage.target, 'Microsoft.Storage/storageAccounts'), storage.scope),
      'properties',
    );
    expect(prop(account, 'allowSharedKeyAccess')).toBe(false);
    expect(prop(account, 'allowBlobPublicAccess')).toBe(false);
    expect(prop(account, 'minimumTlsVersion')).toBe('TLS1_2');
  });

  it('turns off local (key) auth on Cosmos DB and Application Insights', () => {
    const account = bodyOf(
      onlyResource(cosmos.target, 'Microsoft.DocumentDB/databaseAccounts'),
      cosmos.scope,
    );
    expect(prop(account, 'properties', 'disableLocalAuth')).toBe(true);
    const monitoring = moduleCall(main, 'monitoring');
    const insights = bodyOf(
      onlyResource(monitoring.target, 'Microsoft.Insights/components'),
      monitoring.scope,
    );
    expect(prop(insights, 'properties', 'disableLocalAuth')).toBe(true);
  });

  it('authorizes Key Vault with Azure RBAC, not access policies', () => {
    const keyVault = moduleCall(main, 'keyVault');
    const vault = prop(
      bodyOf(onlyResource(keyVault.target, 'Microsoft.KeyVault/vaults'), keyVault.scope),
      'properties',
    );
    expect(prop(vault, 'enableRbacAuthorization')).toBe(true);
    expect(prop(vault, 'accessPolicies') ?? []).toEqual([]);
  });
});

describe('Cosmos DB', () => {
  const containers = loopBodies(
    onlyResource(cosmos.target, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers'),
    cosmos.scope,
  );
  const byName = new Map(containers.map((c) => [textOf(prop(c, 'name')), prop(c, 'properties', 'resource')]));

  it('creates the containers the code uses, with its partition keys', () => {
    expect(
      Object.fromEntries([...byName].map(([name, c]) => [name, prop(c, 'partitionKey', 'paths')])),
    ).toEqual(
      Object.fromEntries(Object.values(CONTAINERS).map(({ id, partitionKey }) => [id, [partitionKey]])),
    );
    for (const [name, c] of byName) expect(prop(c, 'id'), name).toBe(name);
  });
});

describe('Storage', () => {
  const queues = loopBodies(
    onlyResource(storage.target, 'Microsoft.Storage/storageAccounts/queueServices/queues'),
    storage.scope,
  );
  const containers = loopBodies(
    onlyResource(storage.target, 'Microsoft.Storage/storageAccounts/blobServices/containers'),
    storage.scope,
  );

  it.each(['IMPORT_QUEUE_NAME', 'REPLY_QUEUE_NAME'] as const)(
    'creates the %s queue and its poison queue under the names the code defaults to',
    (setting) => {
      const queue = String(schemaDefault(setting));
      expect(queues.map((q) => prop(q, 'name'))).toEqual(expect.arrayContaining([queue, `${queue}-poison`]));
    },
  );

  it('creates private blob containers under the names the code defaults to', () => {
    const expected = (['IMAGES_CONTAINER', 'RAW_MAIL_CONTAINER', 'KEPT_ASIDE_CONTAINER'] as const).map(
      schemaDefault,
    );
    expect(containers.map((c) => prop(c, 'name'))).toEqual(expect.arrayContaining(expected));
    for (const container of containers) expect(prop(container, 'properties', 'publicAccess')).toBe('None');
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { environmentSchema } from '../../shared/config/environment.js';
import { CONTAINERS } from '../../shared/cosmos/containers.js';

/*
 * Offline checks of infra/ (no Bicep CLI, no Azure): every .bicep file is parsed with tree-sitter-bicep,
 * and the parse trees are evaluated just enough to follow values from main.bicep into the modules.
 * Whatever only Azure can compute (resource ids, outputs, function results) stays symbolic (`Opaque`).
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const infraDir = join(repoRoot, 'infra');

/** Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles). */
const ROLE = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  /** Cosmos DB data plane role "Cosmos DB Built-in Data Contributor", not an Azure role. */
  cosmosDataContributor: '00000000-0000-0000-0000-000000000002',
} as const;

/** Large free texts of tickets and supplements (shared/tickets/model.ts), not worth indexing. */
const LARGE_TEXT_PATHS = [
  '/requestText/*',
  '/requestHtml/*',
  '/description/*',
  '/descriptionHtml/*',
  '/fullText/*',
];

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

function syntaxProblems(node: Node): string[] {
  const here =
    node.isError || node.isMissing
      ? [
          `${node.isMissing ? 'MISSING' : 'ERROR'} at ${node.startPosition.row + 1}:${node.startPosition.column + 1}`,
        ]
      : [];
  return [...here, ...node.children.flatMap(syntaxProblems)];
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

describe('Bicep syntax', () => {
  it('finds the templates', () => {
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(['main.bicep', 'app/api.bicep', 'app/rbac.bicep']),
    );
  });

  it.each([...files.keys()])('infra/%s has no ERROR or MISSING node', (path) => {
    expect(syntaxProblems(bicep(path).root)).toEqual([]);
  });

  it('reports a broken template (the grammar really checks)', () => {
    const tree = parser.parse("resource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'a'\n");
    expect(tree && syntaxProblems(tree.rootNode).length).toBeGreaterThan(0);
  });

  it('every module exists, gets only parameters it declares and every parameter it requires', () => {
    for (const file of files.values()) {
      for (const module of file.modules) {
        const target = bicep(posix.join(posix.dirname(file.path), module.type));
        const params = prop(bodyOf(module, rootScope(file)), 'params');
        const passed = Object.keys(isRecord(params) ? params : {});
        const required = [...target.params]
          .filter(([, p]) => content(p)[2] === undefined)
          .map(([name]) => name);
        expect(
          passed.filter((name) => !target.params.has(name)),
          `${module.symbol}: unknown params`,
        ).toEqual([]);
        expect(
          required.filter((name) => !passed.includes(name)),
          `${module.symbol}: missing params`,
        ).toEqual([]);
      }
    }
  });

  it('every module output that is used is declared by the module', () => {
    for (const file of files.values()) {
      const modules = new Map(
        file.modules.map((m) => [m.symbol, posix.join(posix.dirname(file.path), m.type)]),
      );
      for (const member of file.root.descendantsOfType('member_expression')) {
        const match = /^(\w+)\.outputs\.(\w+)$/.exec(member.text);
        const target = match?.[1] ? modules.get(match[1]) : undefined;
        if (!match?.[2] || !target) continue;
        expect(bicep(target).outputs.has(match[2]), `${file.path}: ${member.text}`).toBe(true);
      }
    }
  });

  it('loaded files exist', () => {
    for (const file of files.values()) {
      for (const call of file.root.descendantsOfType('call_expression')) {
        if (!/^load(Json|Text|Yaml)Content$/.test(field(call, 'function').text)) continue;
        const [argument] = content(field(call, 'arguments'));
        const path = argument ? textOf(evaluate(argument, rootScope(file))) : '';
        expect(existsSync(join(infraDir, dirname(file.path), path)), `${file.path}: ${path}`).toBe(true);
      }
    }
  });
});

describe('azd wiring', () => {
  it('deploys at subscription scope into a resource group tagged with the azd environment', () => {
    const targetScope = main.file.root.namedChildren.find((n) => n.type === 'target_scope_assignment');
    expect(targetScope && stringLiteral(content(targetScope)[0] ?? targetScope)).toBe('subscription');
    const rg = onlyResource(main.file, 'Microsoft.Resources/resourceGroups');
    expect(prop(bodyOf(rg, main), 'tags')).toEqual({ 'azd-env-name': new Opaque('environmentName') });
  });

  it('derives resource names from the azd resource token', () => {
    expect(textOf(lookup('resourceToken', main))).toBe(
      'toLower(uniqueString(subscription().id, environmentName, location))',
    );
  });

  it('maps the azd environment into main.parameters.json', () => {
    const json: { parameters: Record<string, { value: unknown }> } = JSON.parse(
      readFileSync(join(infraDir, 'main.parameters.json'), 'utf8'),
    );
    const fromEnvironment = (variable: string) => `\${${variable}}`;
    expect(json.parameters.environmentName?.value).toBe(fromEnvironment('AZURE_ENV_NAME'));
    expect(json.parameters.location?.value).toBe(fromEnvironment('AZURE_LOCATION'));
    expect(json.parameters.principalId?.value).toBe(fromEnvironment('AZURE_PRINCIPAL_ID'));
    expect(Object.keys(json.parameters).filter((name) => !main.file.params.has(name))).toEqual([]);
  });

  it('tags the Function App as the api service of azure.yaml', () => {
    const site = onlyResource(api.target, 'Microsoft.Web/sites');
    expect(textOf(prop(bodyOf(site, api.scope), 'tags'))).toContain('{"azd-service-name":"api"}');
    const yaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8').split('\n');
    for (const line of ['services:', '  api:', '    project: .', '    host: function'])
      expect(yaml).toContain(line);
    expect(yaml.some((line) => /^ {4}language: (ts|js)$/.test(line))).toBe(true);
    expect(yaml.some((line) => /^name: \S+/.test(line))).toBe(true);
  });

  it('outputs what azd and local runs need', () => {
    expect([...main.file.outputs.keys()]).toEqual(
      expect.arrayContaining([
        'AZURE_FUNCTION_APP_NAME',
        'AZURE_CLIENT_ID',
        'AZURE_IDENTITY_PRINCIPAL_ID',
        'AZURE_STORAGE_ACCOUNT_NAME',
        'COSMOS_ENDPOINT',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
      ]),
    );
  });
});

describe('Function App', () => {
  const site = bodyOf(onlyResource(api.target, 'Microsoft.Web/sites'), api.scope);
  const config = prop(site, 'properties', 'functionAppConfig');

  it('runs on Flex Consumption with Node 22', () => {
    const plan = bodyOf(onlyResource(api.target, 'Microsoft.Web/serverfarms'), api.scope);
    expect(prop(plan, 'sku')).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(prop(site, 'kind')).toBe('functionapp,linux');
    expect(prop(config, 'runtime')).toEqual({ name: 'node', version: '22' });
  });

  it('takes instance memory and instance count from main.bicep parameters', () => {
    expect(main.file.params.has('instanceMemoryMB')).toBe(true);
    expect(main.file.params.has('maximumInstanceCount')).toBe(true);
    expect(prop(config, 'scaleAndConcurrency')).toEqual({
      instanceMemoryMB: lookup('instanceMemoryMB', main),
      maximumInstanceCount: lookup('maximumInstanceCount', main),
    });
  });

  it('reads its package from a created blob container with the user-assigned identity', () => {
    const deployment = prop(config, 'deployment', 'storage');
    expect(prop(deployment, 'type')).toBe('blobContainer');
    expect(prop(deployment, 'authentication')).toEqual({
      type: 'UserAssignedIdentity',
      userAssignedIdentityResourceId: new Opaque('identity.outputs.id'),
    });
    const container = textOf(api.scope.bindings.get('deploymentContainerName'));
    expect(textOf(prop(deployment, 'value'))).toContain(container);
    const created = storage.scope.bindings.get('containerNames');
    expect(Array.isArray(created) && created.map(textOf)).toContain(container);
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
      expect(`${name}=${textOf(value)}`).not.toMatch(SECRET_PATTERN);
    }
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

describe('role assignments', () => {
  const assignmentTypes = [
    'Microsoft.Authorization/roleAssignments',
    'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments',
  ];
  const assignments = assignmentTypes.flatMap((type) => resourcesOf(rbac.target, type));
  // The deploying user's object id as main.bicep receives it, kept symbolic (its default is empty).
  const scope: Scope = {
    file: rbac.target,
    bindings: new Map([...rbac.scope.bindings, ['userPrincipalId', new Opaque('principalId')]]),
  };

  const granted = assignments.map((assignment) => {
    const body = bodyOf(assignment, scope);
    const scopeSymbol = textOf(prop(body, 'scope') ?? prop(body, 'parent'));
    const roleDefinitionId = textOf(prop(body, 'properties', 'roleDefinitionId'));
    const nameNode = objectOf(assignment.body)
      .namedChildren.filter((p) => p.type === 'object_property')
      .map((p) => content(p))
      .find(([key]) => key?.text === 'name')?.[1];
    const condition = assignment.body.type === 'if_statement' ? content(assignment.body)[0] : undefined;
    return {
      symbol: assignment.symbol,
      nameNode,
      condition: condition ? textOf(evaluate(condition, scope)) : null,
      principal: textOf(prop(body, 'properties', 'principalId')),
      scopeSymbol,
      scopeType: rbac.target.resources.find((r) => r.symbol === scopeSymbol)?.type.split('@')[0],
      role: roleDefinitionId.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)?.at(-1),
      roleDefinitionId,
    };
  });

  it('are all in app/rbac.bicep', () => {
    for (const file of files.values()) {
      if (file === rbac.target) continue;
      expect(
        assignmentTypes.flatMap((type) => resourcesOf(file, type)),
        file.path,
      ).toEqual([]);
    }
    expect(assignments.length).toBeGreaterThan(0);
  });

  it('are named guid(scope, principal, role) so a redeploy finds them again', () => {
    for (const grant of granted) {
      expect(grant.nameNode?.type, grant.symbol).toBe('call_expression');
      if (grant.nameNode?.type !== 'call_expression') continue;
      expect(field(grant.nameNode, 'function').text).toBe('guid');
      const args = content(field(grant.nameNode, 'arguments')).map((arg) => textOf(evaluate(arg, scope)));
      expect(args, grant.symbol).toEqual([`${grant.scopeSymbol}.id`, grant.principal, grant.role]);
    }
  });

  it.each([
    ['Storage Blob Data Owner', ROLE.storageBlobDataOwner, 'Microsoft.Storage/storageAccounts'],
    ['Storage Queue Data Contributor', ROLE.storageQueueDataContributor, 'Microsoft.Storage/storageAccounts'],
    ['Storage Table Data Contributor', ROLE.storageTableDataContributor, 'Microsoft.Storage/storageAccounts'],
    [
      'Cosmos DB Built-in Data Contributor',
      ROLE.cosmosDataContributor,
      'Microsoft.DocumentDB/databaseAccounts',
    ],
    ['Key Vault Secrets User', ROLE.keyVaultSecretsUser, 'Microsoft.KeyVault/vaults'],
    ['Monitoring Metrics Publisher', ROLE.monitoringMetricsPublisher, 'Microsoft.Insights/components'],
  ])('give the app identity %s', (_name, role, scopeType) => {
    const grant = granted.find((g) => g.role === role && g.principal === 'identity.outputs.principalId');
    expect(grant, `${role} for the app identity`).toBeDefined();
    expect(grant?.condition).toBeNull();
    expect(grant?.scopeType).toBe(scopeType);
    expect(grant?.roleDefinitionId).toBe(
      role === ROLE.cosmosDataContributor
        ? `\${${grant?.scopeSymbol}.id}/sqlRoleDefinitions/${role}`
        : `subscriptionResourceId(Microsoft.Authorization/roleDefinitions, ${role})`,
    );
  });

  it('give the deploying user data access only when principalId is set', () => {
    const userGrants = granted.filter((g) => g.principal === 'principalId');
    expect(userGrants.map((g) => g.role)).toEqual(
      expect.arrayContaining([
        ROLE.storageBlobDataOwner,
        ROLE.storageQueueDataContributor,
        ROLE.cosmosDataContributor,
      ]),
    );
    for (const grant of userGrants) expect(grant.condition, grant.symbol).toBe('!empty(principalId)');
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

  it('keeps contacts unique per address and mail without unique keys', () => {
    expect(prop(byName.get('contacts'), 'uniqueKeyPolicy', 'uniqueKeys')).toEqual([
      { paths: ['/emailLower'] },
    ]);
    expect(prop(byName.get('mail'), 'uniqueKeyPolicy', 'uniqueKeys')).toEqual([]);
  });

  it('indexes tickets and threads by default except the large text paths', () => {
    for (const name of ['tickets', 'threads']) {
      const policy = prop(byName.get(name), 'indexingPolicy');
      expect(prop(policy, 'includedPaths'), name).toEqual([{ path: '/*' }]);
      expect(prop(policy, 'excludedPaths'), name).toEqual(
        expect.arrayContaining(LARGE_TEXT_PATHS.map((path) => ({ path }))),
      );
    }
  });

  it('is serverless unless told otherwise', () => {
    const account = bodyOf(
      onlyResource(cosmos.target, 'Microsoft.DocumentDB/databaseAccounts'),
      cosmos.scope,
    );
    expect(prop(account, 'properties', 'capabilities')).toEqual([{ name: 'EnableServerless' }]);
    const provisioned = {
      file: cosmos.target,
      bindings: new Map([...cosmos.scope.bindings, ['serverless', false]]),
    };
    const database = bodyOf(
      onlyResource(cosmos.target, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases'),
      provisioned,
    );
    expect(prop(database, 'properties', 'options', 'autoscaleSettings', 'maxThroughput')).toBe(
      lookup('cosmosMaxThroughput', main),
    );
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

  it('creates the import queue and its poison queue under the names the code defaults to', () => {
    const queue = String(schemaDefault('IMPORT_QUEUE_NAME'));
    expect(queues.map((q) => prop(q, 'name'))).toEqual(expect.arrayContaining([queue, `${queue}-poison`]));
  });

  it('creates private blob containers under the names the code defaults to', () => {
    const expected = (['IMAGES_CONTAINER', 'RAW_MAIL_CONTAINER', 'KEPT_ASIDE_CONTAINER'] as const).map(
      schemaDefault,
    );
    expect(containers.map((c) => prop(c, 'name'))).toEqual(expect.arrayContaining(expected));
    for (const container of containers) expect(prop(container, 'properties', 'publicAccess')).toBe('None');
  });
});

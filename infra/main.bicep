targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment. Part of every resource name and of the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person running azd (AZURE_PRINCIPAL_ID). When set, that principal gets the same data access as the app, so `npm start` can run against the deployed resources. Empty: no grants.')
param principalId string = ''

@description('Kind of principal behind principalId.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Memory of each Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most Function App instances at once. Import speed is bound by Graph throttling per mailbox, not by compute.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 20

@description('true: Cosmos DB serverless (pay per request). false: provisioned autoscale throughput shared by the database.')
param cosmosServerless bool = true

@description('Autoscale maximum RU/s of the database when cosmosServerless is false.')
@minValue(1000)
param cosmosMaxThroughput int = 1000

@description('NCRONTAB schedule (six fields) of the timer that enqueues one import job per mailbox.')
param importSchedule string = '0 */5 * * * *'

@minLength(1)
@description('The mailboxes this deployment may read (app setting ALLOWED_MAILBOXES): domains, addresses or Graph user ids, separated by commas. Importer settings naming any other mailbox are refused when saved and when a run starts. No default: someone must decide.')
param allowedMailboxes string

@minLength(36)
@maxLength(36)
@description('Client id of the Microsoft Entra app registration of the management API (see docs/deploy.md). App Service authentication admits only tokens issued in this tenant for api://<client id>; each helpdesk then admits its own administrators.')
param managementApiClientId string

@secure()
@minLength(32)
@description('The secret the clientState of every Graph change-notification subscription is derived from; kept in Key Vault. azd reads it from the vault on later runs, or makes a random one (main.parameters.json).')
param notificationClientStateSecret string

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// Names the code uses; each is also the default of its setting in shared/config/environment.ts.
// They are written into the app settings too, so the created resources and the app cannot drift apart.
var names = {
  cosmosDatabase: 'helpdesk'
  importQueue: 'mailbox-imports'
  replyQueue: 'agent-replies'
  imagesContainer: 'ticket-images'
  rawMailContainer: 'raw-mail'
  keptAsideContainer: 'kept-aside-mail'
}
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
// Flex Consumption reads the deployment package from this blob container.
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The one identity of the app: host storage, Cosmos DB, Graph, Key Vault and telemetry all use it.
module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    // The host moves a message that failed maxDequeueCount times (host.json) to <queue>-poison.
    queueNames: [
      names.importQueue
      '${names.importQueue}-poison'
      names.replyQueue
      '${names.replyQueue}-poison'
    ]
    containerNames: [
      deploymentContainerName
      names.imagesContainer
      names.rawMailContainer
      names.keptAsideContainer
    ]
  }
}

module cosmos 'app/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
    location: location
    tags: tags
    databaseName: names.cosmosDatabase
    serverless: cosmosServerless
    maxThroughput: cosmosMaxThroughput
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    notificationClientStateSecret: notificationClientStateSecret
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: names.cosmosDatabase
    importQueueName: names.importQueue
    replyQueueName: names.replyQueue
    importSchedule: importSchedule
    imagesContainerName: names.imagesContainer
    rawMailContainerName: names.rawMailContainer
    keptAsideContainerName: names.keptAsideContainer
    allowedMailboxes: allowedMailboxes
    managementApiClientId: managementApiClientId
    keyVaultName: keyVault.outputs.name
    notificationClientStateName: keyVault.outputs.clientStateName
  }
}

// Every role assignment of the app (and of the deploying user) lives in this one module.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// azd writes these into .azure/<env>/.env; names that match app settings can be copied to local settings as they are.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_URL string = api.outputs.url
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_NAME string = identity.outputs.name
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AzureWebJobsStorage__accountName string = storage.outputs.name
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = names.cosmosDatabase
output IMPORT_QUEUE_NAME string = names.importQueue
output REPLY_QUEUE_NAME string = names.replyQueue
output IMAGES_CONTAINER string = names.imagesContainer
output RAW_MAIL_CONTAINER string = names.rawMailContainer
output KEPT_ASIDE_CONTAINER string = names.keptAsideContainer
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri

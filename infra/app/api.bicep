@description('Function App name.')
param name string

@description('Flex Consumption plan name.')
param planName string

param location string
param tags { *: string }

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity; every identity-based connection of the app names it.')
param identityClientId string

param storageAccountName string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

param applicationInsightsName string

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Most instances at once.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

param cosmosEndpoint string
param cosmosDatabaseName string
param importQueueName string
param replyQueueName string
param importSchedule string
param imagesContainerName string
param rawMailContainerName string
param keptAsideContainerName string

@description('ALLOWED_MAILBOXES: the mailboxes this deployment may read.')
param allowedMailboxes string

@description('Client id of the management API\'s Entra app registration; App Service authentication admits tokens for it.')
param managementApiClientId string

@description('Key Vault holding the change notifications\' clientState secret, and its name there.')
param keyVaultName string
param notificationClientStateName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service of azure.yaml to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings, if any are added, resolve with the same identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // Flex Consumption takes the language and version from here; FUNCTIONS_WORKER_RUNTIME and
      // WEBSITE_NODE_DEFAULT_VERSION are not allowed as app settings on this plan.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// The complete set of app settings: no keys, no connection strings with secrets, no SAS.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Host storage (timers, queue trigger, keys) through the managed identity.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Telemetry authenticated with Entra ID; local auth is disabled on Application Insights.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // The app's settings (shared/config/environment.ts). Graph and Cosmos DB tokens come from the
    // user-assigned identity named by AZURE_CLIENT_ID.
    AZURE_CLIENT_ID: identityClientId
    COSMOS_ENDPOINT: cosmosEndpoint
    COSMOS_DATABASE: cosmosDatabaseName
    GRAPH_BASE_URL: 'https://graph.microsoft.com'
    IMPORT_QUEUE_NAME: importQueueName
    REPLY_QUEUE_NAME: replyQueueName
    IMPORT_SCHEDULE: importSchedule
    IMAGES_CONTAINER: imagesContainerName
    RAW_MAIL_CONTAINER: rawMailContainerName
    KEPT_ASIDE_CONTAINER: keptAsideContainerName
    ALLOWED_MAILBOXES: allowedMailboxes
    // Management calls are signed in by App Service authentication (below) and admitted per helpdesk.
    MANAGEMENT_AUTH: 'entra'
    // Graph posts change notifications for new mail here; each one's clientState is checked against
    // the secret, read from Key Vault with the app's identity.
    NOTIFICATION_URL: 'https://${functionApp.properties.defaultHostName}/api/notifications'
    NOTIFICATION_CLIENT_STATE_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${notificationClientStateName})'
  }
}

// App Service authentication in front of every HTTP function, the admin console (/api/console) included:
// a caller without a valid Entra token or session for the management API gets 401 from the platform; the
// app reads the verified claims from x-ms-client-principal and checks the helpdesk's administrators. A
// person signs in to the console at /.auth/login/aad (ID token, implicit flow, so no client secret) and
// then holds a session cookie; scripts and daemons send bearer tokens.
resource authentication 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // Graph sends change notifications without a token; the function checks their clientState.
      excludedPaths: [
        '/api/notifications'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: managementApiClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${managementApiClientId}'
            managementApiClientId
          ]
        }
      }
    }
  }
}

output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'

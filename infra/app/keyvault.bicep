param name string
param location string
param tags { *: string }

@secure()
@minLength(32)
@description('The secret each change-notification subscription\'s clientState is derived from.')
param notificationClientStateSecret string

// The app's one secret: the clientState secret of Graph change notifications (every connection uses the
// managed identity). Access is Azure RBAC only; the app reads it as Key Vault Secrets User (rbac.bicep)
// through the app setting '@Microsoft.KeyVault(SecretUri=...)', resolved with keyVaultReferenceIdentity.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource clientState 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'notification-client-state'
  properties: {
    value: notificationClientStateSecret
    contentType: 'text/plain'
  }
}

output name string = vault.name
@description('Name of the clientState entry in the vault, for a Key Vault reference (its latest version is used).')
output clientStateName string = clientState.name
output uri string = vault.properties.vaultUri

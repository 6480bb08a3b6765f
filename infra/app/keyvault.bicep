param name string
param location string
param tags { *: string }

// Home for any secret the app may need later (none today: every connection uses the managed identity).
// Access is Azure RBAC only; the app reads secrets as Key Vault Secrets User (rbac.bicep), for example
// through an app setting '@Microsoft.KeyVault(SecretUri=...)' resolved with keyVaultReferenceIdentity.
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

output name string = vault.name
output uri string = vault.properties.vaultUri

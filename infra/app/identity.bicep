@description('Name of the user-assigned managed identity.')
param name string
param location string
param tags { *: string }

// A user-assigned identity (not a system-assigned one) so its client id is known before the app exists:
// the app settings name it (AzureWebJobsStorage__clientId, AZURE_CLIENT_ID) and the admin grants it
// Graph mail access once, and the grant survives redeploying or replacing the Function App.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
@description('Object id of the identity\'s service principal: the -ObjectId for Exchange New-ServicePrincipal.')
output principalId string = identity.properties.principalId

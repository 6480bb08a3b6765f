param logAnalyticsName string
param applicationInsightsName string
param location string
param tags { *: string }

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Only Entra ID authenticated telemetry is accepted: the app sends with its managed identity
    // (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and needs Monitoring Metrics Publisher (rbac.bicep).
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
@description('Ingestion endpoint and instrumentation key. Not a secret: with local auth disabled it grants nothing on its own.')
output connectionString string = applicationInsights.properties.ConnectionString

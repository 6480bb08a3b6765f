param name string
param location string
param tags { *: string }

@description('Name of the SQL (NoSQL) database the app uses (setting COSMOS_DATABASE).')
param databaseName string

@description('true: serverless capacity mode (pay per request). false: provisioned autoscale throughput on the database.')
param serverless bool = true

@description('Autoscale maximum RU/s shared by the containers when serverless is false (scales between 10% and this value).')
@minValue(1000)
param maxThroughput int = 1000

// Large free texts of tickets and supplements (shared/tickets/model.ts) are never filtered or sorted on;
// indexing them would only cost RUs on every write.
var largeTextPaths = [
  {
    path: '/requestText/*'
  }
  {
    path: '/requestHtml/*'
  }
  {
    path: '/description/*'
  }
  {
    path: '/descriptionHtml/*'
  }
  {
    path: '/fullText/*'
  }
]

// The containers and partition keys the code expects. Unique keys are fixed when a container is
// created (changing one later means a new container and a copy), so they are chosen here once:
// - contacts: one contact per address within a helpdesk (unique keys apply per partition, /helpdeskId);
// - mail: none; records are found and deduplicated by id, and an id is already unique within its
//   partition (/mailboxKey), so a unique key would add write cost without adding a guarantee;
// - tickets, threads: default indexing without the large text paths above (threads map Message-IDs to
//   ticket numbers; the same exclusions keep them cheap should text ever be stored there).
var containers = [
  {
    name: 'helpdesks'
    partitionKey: '/helpdeskId'
    uniqueKeys: []
    excludedPaths: []
  }
  {
    name: 'contacts'
    partitionKey: '/helpdeskId'
    uniqueKeys: [
      {
        paths: [
          '/emailLower'
        ]
      }
    ]
    excludedPaths: []
  }
  {
    name: 'tickets'
    partitionKey: '/ticketKey'
    uniqueKeys: []
    excludedPaths: largeTextPaths
  }
  {
    name: 'mail'
    partitionKey: '/mailboxKey'
    uniqueKeys: []
    excludedPaths: []
  }
  {
    name: 'threads'
    partitionKey: '/helpdeskId'
    uniqueKeys: []
    excludedPaths: largeTextPaths
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless
      ? [
          {
            name: 'EnableServerless'
          }
        ]
      : []
    // Entra ID only: no account keys for data access, no key-based changes to databases and containers.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless
      ? {}
      : {
          autoscaleSettings: {
            maxThroughput: maxThroughput
          }
        }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: {
          paths: [
            container.partitionKey
          ]
          kind: 'Hash'
          version: 2
        }
        uniqueKeyPolicy: {
          uniqueKeys: container.uniqueKeys
        }
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: [
            {
              path: '/*'
            }
          ]
          excludedPaths: container.excludedPaths
        }
      }
    }
  }
]

output name string = account.name
output endpoint string = account.properties.documentEndpoint

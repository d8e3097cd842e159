// A stamp's access to the global directory: Storage Table Data Contributor
// on the directory table only (not the account), for the stamp's app
// identity. Deployed into the global resource group.
param principalId string
param directoryAccountName string

var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: directoryAccountName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource directoryTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = {
  parent: tableService
  name: 'directory'
}

resource tableAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: directoryTable
  name: guid(directoryTable.id, principalId, storageTableDataContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
  }
}

// Key Vault for the SMTP password, the e-mail token keys and the gateway's
// TLS certificate (prefix kv), or for the environments' secret parameters,
// which the app itself sets (prefix kvp): RBAC authorization, soft delete,
// purge protection, no public network access. Secret values are never in
// templates: operators set them (infra/README.md), app settings reference
// them by name.
param environmentName string
param location string
param tags object
param workspaceId string
@description('kv: the operators\' vault; kvp: the secret parameters\' vault')
param prefix string = 'kv'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${prefix}-${environmentName}-${uniqueString(resourceGroup().id)}', 24)
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
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri

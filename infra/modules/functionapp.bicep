// The Function App: Flex Consumption (FC1), Linux, custom handler, HTTPS
// only, TLS 1.2, FTPS off, VNet-integrated, public network access off (the
// gateway reaches it through its private endpoint), a user-assigned
// identity for host storage, Service Bus and Key Vault (no keys anywhere).
param environmentName string
param location string
param tags object
param identityId string
param identityClientId string
param functionsSubnetId string
param storageName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param serviceBusNamespace string
param vaultName string
param appInsightsConnectionString string
@description('The web console\'s app registration; empty turns its Entra sign-in off.')
param consoleClientId string

var kv = 'VaultName=${vaultName}'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${environmentName}-${location}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${environmentName}-${uniqueString(resourceGroup().id)}'
  location: location
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
    publicNetworkAccess: 'Disabled'
    virtualNetworkSubnetId: functionsSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storageName }
        { name: 'AzureWebJobsStorage__blobServiceUri', value: blobEndpoint }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: queueEndpoint }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: tableEndpoint }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBusNamespace }
        { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
        { name: 'ServiceBusConnection__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        { name: 'COLLAB_LOG_LEVEL', value: 'info' }
        { name: 'COLLAB_MAX_BODY_BYTES', value: '1048576' }
        { name: 'COLLAB_STORAGE_TIMEOUT', value: '2s' }
        { name: 'COLLAB_OIDC_ISSUERS', value: '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0' }
        { name: 'COLLAB_OIDC_AUDIENCE', value: 'api://studio-collab-${environmentName}' }
        { name: 'COLLAB_SMTP_PASSWORD', value: '@Microsoft.KeyVault(${kv};SecretName=smtp-password)' }
        { name: 'COLLAB_EMAIL_TOKEN_KEYS', value: '@Microsoft.KeyVault(${kv};SecretName=email-token-keys)' }
        { name: 'AzureWebJobs.Health.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Me.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Subscriptions.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Projects.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Invitations.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Schedules.Disabled', value: 'false' }
        { name: 'AzureWebJobs.JobsTick.Disabled', value: 'false' }
        { name: 'AzureWebJobs.DevToken.Disabled', value: 'true' }
        { name: 'AzureWebJobs.DevDiscovery.Disabled', value: 'true' }
        { name: 'AzureWebJobs.DeployRequests.Disabled', value: 'false' }
        { name: 'AzureWebJobs.DeployRequestsLocal.Disabled', value: 'true' }
        { name: 'COLLAB_CONSOLE_AUTHORITY', value: empty(consoleClientId) ? '' : '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0' }
        { name: 'COLLAB_CONSOLE_CLIENT_ID', value: consoleClientId }
        { name: 'COLLAB_CONSOLE_SCOPES', value: 'api://studio-collab-${environmentName}/user_impersonation' }
        { name: 'AzureWebJobs.Console.Disabled', value: 'false' }
        { name: 'AzureWebJobs.ConsoleConfig.Disabled', value: 'false' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}app-package'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 100
        instanceMemoryMB: 2048
      }
    }
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName

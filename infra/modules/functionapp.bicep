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
param paramsVaultName string
param appInsightsConnectionString string
@description('E-mail settings (main.bicep documents them); secrets are not here but Key Vault references below.')
param mail object
@description('The web console\'s app registration; empty turns its Entra sign-in off.')
param consoleClientId string
@description('The API\'s app registration: its client id (the aud of v2 access tokens) and App ID URI (scopes, v1 tokens).')
param apiClientId string
param apiAppIdUri string
@description('Accept the tenant\'s v1 access tokens too (a registration not at accessTokenAcceptedVersion 2).')
param acceptV1Tokens bool
@description('This stamp among the others (stamp.bicep): its name, every stamp\'s URL, the origins whose consoles call it after a 421, the dedicated customer, the directory.')
param stamp object
@description('HTTP requests one instance serves at once: Flex Consumption\'s per-instance concurrency, host.json\'s extensions.http.maxConcurrentRequests and the handler\'s COLLAB_MAX_IN_FLIGHT are the same number (docs/decisions.md).')
param httpPerInstanceConcurrency int = 16

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
    // Key Vault references in app settings resolve with the app's user-assigned identity.
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: functionsSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The other stamps' and the service name's consoles call this stamp
      // after a 421 (bearer tokens, no cookies); the host answers preflights.
      cors: {
        allowedOrigins: stamp.origins
        supportCredentials: false
      }
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
        // Where the handler runs: never 'local' (that unlocks the developer's policy, and the
        // handler refuses it on Flex anyway); unset would mean the cloud policy too.
        { name: 'COLLAB_ENVIRONMENT', value: 'azure-${environmentName}' }
        { name: 'COLLAB_LOG_LEVEL', value: 'info' }
        { name: 'COLLAB_MAX_BODY_BYTES', value: '1048576' }
        { name: 'COLLAB_STORAGE_TIMEOUT', value: '2s' }
        { name: 'COLLAB_SECURITY_EVENT_RETENTION_DAYS', value: '90' }
        { name: 'COLLAB_MAX_IN_FLIGHT', value: string(httpPerInstanceConcurrency) }
        { name: 'COLLAB_OIDC_ISSUERS', value: '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0' }
        // Entra v2 access tokens carry aud = the API's client id; v1 tokens its App ID URI (docs/platform.md).
        { name: 'COLLAB_OIDC_AUDIENCE', value: acceptV1Tokens ? '${apiClientId},${apiAppIdUri}' : apiClientId }
        { name: 'COLLAB_OIDC_ACCEPT_V1', value: acceptV1Tokens ? 'true' : 'false' }
        { name: 'COLLAB_SMTP_HOST', value: mail.smtpHost }
        { name: 'COLLAB_SMTP_PORT', value: mail.smtpPort }
        { name: 'COLLAB_SMTP_TLS', value: mail.smtpTls }
        { name: 'COLLAB_SMTP_USERNAME', value: mail.smtpUsername }
        { name: 'COLLAB_SMTP_PASSWORD', value: '@Microsoft.KeyVault(${kv};SecretName=smtp-password)' }
        { name: 'COLLAB_SMTP_TIMEOUT', value: '30s' }
        { name: 'COLLAB_SMTP_FROM', value: mail.from }
        { name: 'COLLAB_EMAIL_REPLY_DOMAIN', value: stamp.replyDomain }
        { name: 'COLLAB_EMAIL_TOKEN_KEYS', value: '@Microsoft.KeyVault(${kv};SecretName=email-token-keys)' }
        { name: 'COLLAB_PARAMS_VAULT_URI', value: 'https://${paramsVaultName}${environment().suffixes.keyvaultDns}/' }
        // Customers' Work Portals and Schedulers are reached on public addresses; private ranges (a peered
        // network) are opened here.
        { name: 'COLLAB_EGRESS_ALLOW', value: '' }
        // Regions, homes and failover (infra/README.md): the home check.
        { name: 'COLLAB_STAMP', value: stamp.name }
        { name: 'COLLAB_STAMP_URLS', value: stamp.urls }
        { name: 'COLLAB_DIRECTORY_TABLE_URI', value: stamp.directoryTableUri }
        { name: 'COLLAB_DEDICATED_SUBSCRIPTION', value: stamp.dedicatedSubscription }
        { name: 'COLLAB_EMAIL_CALLBACK_KEYS', value: '@Microsoft.KeyVault(${kv};SecretName=email-callback-keys)' }
        { name: 'COLLAB_INBOUND_SECRET', value: '@Microsoft.KeyVault(${kv};SecretName=inbound-email-secret)' }
        { name: 'COLLAB_INBOUND_REQUIRE_AUTH', value: mail.inboundRequireAuth }
        { name: 'COLLAB_PUBLIC_URL', value: stamp.publicUrl }
        { name: 'COLLAB_IMAP_HOST', value: mail.imapHost }
        { name: 'COLLAB_IMAP_PORT', value: mail.imapPort }
        { name: 'COLLAB_IMAP_TLS', value: 'tls' }
        { name: 'COLLAB_IMAP_USERNAME', value: mail.imapUsername }
        { name: 'COLLAB_IMAP_PASSWORD', value: '@Microsoft.KeyVault(${kv};SecretName=imap-password)' }
        { name: 'COLLAB_IMAP_MAILBOX', value: mail.imapMailbox }
        { name: 'COLLAB_IMAP_AUTHSERV_ID', value: mail.imapAuthservId }
        { name: 'AzureWebJobs.Health.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Me.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Subscriptions.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Projects.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Invitations.Disabled', value: 'false' }
        { name: 'AzureWebJobs.Schedules.Disabled', value: 'false' }
        { name: 'AzureWebJobs.SecurityEvents.Disabled', value: 'false' }
        { name: 'AzureWebJobs.JobsTick.Disabled', value: 'false' }
        { name: 'AzureWebJobs.OutboxSend.Disabled', value: 'false' }
        { name: 'AzureWebJobs.EmailCallback.Disabled', value: 'false' }
        { name: 'AzureWebJobs.InboundEmail.Disabled', value: 'false' }
        { name: 'AzureWebJobs.InboxPoll.Disabled', value: 'false' }
        { name: 'AzureWebJobs.OutboxRedrive.Disabled', value: 'false' }
        { name: 'AzureWebJobs.DevToken.Disabled', value: 'true' }
        { name: 'AzureWebJobs.DevDiscovery.Disabled', value: 'true' }
        { name: 'AzureWebJobs.DeployRequests.Disabled', value: 'false' }
        { name: 'AzureWebJobs.WindowsReconcile.Disabled', value: 'false' }
        { name: 'COLLAB_CONSOLE_AUTHORITY', value: empty(consoleClientId) ? '' : '${environment().authentication.loginEndpoint}${subscription().tenantId}/v2.0' }
        { name: 'COLLAB_CONSOLE_CLIENT_ID', value: consoleClientId }
        { name: 'COLLAB_CONSOLE_SCOPES', value: '${apiAppIdUri}/user_impersonation' }
        // Empty: the sign-in button says "Sign in with Microsoft" for the Entra authority above.
        { name: 'COLLAB_CONSOLE_PROVIDER', value: '' }
        { name: 'AzureWebJobs.WebConsole.Disabled', value: 'false' }
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
        // Flex scales out when instances serve this many HTTP requests at
        // once; the host queues past it (host.json) and the handler sheds
        // past the same number with 503 + Retry-After.
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
    }
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName

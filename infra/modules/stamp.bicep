// One region of the service: network, monitoring, identities, storage,
// Service Bus, Key Vault, private DNS and endpoints, the Function App, the
// gateway, optionally the firewall, role assignments and alerts.
param environmentName string
param location string
param tags object
param addressSpace string
param serviceBusSku string
param deployFirewall bool
param tlsCertificateSecretId string
param storageTables array
param storageContainers array
param storageQueues array
param mail object
param consoleClientId string
param apiClientId string
param apiAppIdUri string
param acceptV1Tokens bool
@description('Who the security alerts (security events, WAF blocks) e-mail, separated by semicolons.')
param securityContactEmails string
@description('This stamp among the others (main.bicep): { name, publicUrl (links in e-mails), replyDomain (task replies), urls (name=https://host,...), origins (array), dedicatedSubscription, geoRedundant, directoryId, directoryName, directoryTableUri, directoryResourceGroup }.')
param stamp object

module network 'network.bicep' = {
  name: 'network'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    addressSpace: addressSpace
    deployFirewall: deployFirewall
  }
}

module monitoring 'monitoring.bicep' = {
  name: 'monitoring'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
  }
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}-func-${location}'
  location: location
  tags: tags
}

resource gatewayIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${environmentName}-agw-${location}'
  location: location
  tags: tags
}

module storage 'storage.bicep' = {
  name: 'storage'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    tables: storageTables
    containers: storageContainers
    queues: storageQueues
    skuName: stamp.geoRedundant ? 'Standard_RAGZRS' : 'Standard_ZRS'
  }
}

module serviceBus 'servicebus.bicep' = {
  name: 'servicebus'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    sku: serviceBusSku
    workspaceId: monitoring.outputs.workspaceId
  }
}

module vault 'keyvault.bicep' = {
  name: 'keyvault'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

// Secret parameters get a vault of their own: the app may write there
// (Secrets Officer) without any write access to the operators' vault.
module paramsVault 'keyvault.bicep' = {
  name: 'keyvault-params'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    prefix: 'kvp'
  }
}

module privateDns 'privatedns.bicep' = {
  name: 'privatedns'
  params: {
    vnetId: network.outputs.vnetId
    tags: tags
    includeServiceBus: serviceBusSku == 'Premium'
  }
}

var storageEndpoints = [
  {
    group: 'blob'
    zone: privateDns.outputs.blobZoneId
  }
  {
    group: 'table'
    zone: privateDns.outputs.tableZoneId
  }
  {
    group: 'queue'
    zone: privateDns.outputs.queueZoneId
  }
]

module storagePe 'privateendpoint.bicep' = [for e in storageEndpoints: {
  name: 'pe-storage-${e.group}'
  params: {
    name: 'pe-${environmentName}-st-${e.group}-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: storage.outputs.id
    groupId: e.group
    privateDnsZoneId: e.zone
  }
}]

// The global directory's table, reached privately from this stamp's VNet,
// with the app identity's access to that table alone.
module directoryPe 'privateendpoint.bicep' = {
  name: 'pe-directory'
  params: {
    name: 'pe-${environmentName}-stdir-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: stamp.directoryId
    groupId: 'table'
    privateDnsZoneId: privateDns.outputs.tableZoneId
  }
}

module directoryAccess 'directoryaccess.bicep' = {
  name: 'directory-access-${stamp.name}'
  scope: resourceGroup(stamp.directoryResourceGroup)
  params: {
    principalId: appIdentity.properties.principalId
    directoryAccountName: stamp.directoryName
  }
}

module vaultPe 'privateendpoint.bicep' = {
  name: 'pe-vault'
  params: {
    name: 'pe-${environmentName}-kv-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: vault.outputs.id
    groupId: 'vault'
    privateDnsZoneId: privateDns.outputs.vaultZoneId
  }
}

module paramsVaultPe 'privateendpoint.bicep' = {
  name: 'pe-vault-params'
  params: {
    name: 'pe-${environmentName}-kvp-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: paramsVault.outputs.id
    groupId: 'vault'
    privateDnsZoneId: privateDns.outputs.vaultZoneId
  }
}

module serviceBusPe 'privateendpoint.bicep' = if (serviceBusSku == 'Premium') {
  name: 'pe-servicebus'
  params: {
    name: 'pe-${environmentName}-sb-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: serviceBus.outputs.id
    groupId: 'namespace'
    privateDnsZoneId: privateDns.outputs.serviceBusZoneId
  }
}

module roles 'roles.bicep' = {
  name: 'roles'
  params: {
    principalId: appIdentity.properties.principalId
    gatewayPrincipalId: gatewayIdentity.properties.principalId
    storageName: storage.outputs.name
    serviceBusName: serviceBus.outputs.name
    vaultName: vault.outputs.name
    paramsVaultName: paramsVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module functionApp 'functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [
    roles
    storagePe
    directoryPe
    directoryAccess
  ]
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    identityId: appIdentity.id
    identityClientId: appIdentity.properties.clientId
    functionsSubnetId: network.outputs.functionsSubnetId
    storageName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    vaultName: vault.outputs.name
    paramsVaultName: paramsVault.outputs.name
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    mail: mail
    consoleClientId: consoleClientId
    apiClientId: apiClientId
    apiAppIdUri: apiAppIdUri
    acceptV1Tokens: acceptV1Tokens
    stamp: stamp
  }
}

module functionPe 'privateendpoint.bicep' = {
  name: 'pe-functions'
  params: {
    name: 'pe-${environmentName}-func-${location}'
    location: location
    tags: tags
    subnetId: network.outputs.endpointsSubnetId
    targetId: functionApp.outputs.id
    groupId: 'sites'
    privateDnsZoneId: privateDns.outputs.sitesZoneId
  }
}

module gateway 'appgateway.bicep' = {
  name: 'appgateway'
  dependsOn: [
    functionPe
    roles
  ]
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    subnetId: network.outputs.gatewaySubnetId
    backendHostName: functionApp.outputs.defaultHostName
    identityId: gatewayIdentity.id
    tlsCertificateSecretId: tlsCertificateSecretId
    workspaceId: monitoring.outputs.workspaceId
  }
}

module firewall 'firewall.bicep' = if (deployFirewall) {
  name: 'firewall'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    subnetId: network.outputs.firewallSubnetId
    functionsSubnetPrefix: network.outputs.functionsSubnetPrefix
    workspaceId: monitoring.outputs.workspaceId
  }
}

module alerts 'alerts.bicep' = {
  name: 'alerts'
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    functionAppId: functionApp.outputs.id
    serviceBusId: serviceBus.outputs.id
    workspaceId: monitoring.outputs.workspaceId
    securityContactEmails: securityContactEmails
  }
}

output gatewayFqdn string = gateway.outputs.fqdn
output functionAppName string = functionApp.outputs.name

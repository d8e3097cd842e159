// The private DNS zones of every private endpoint, linked to the VNet.
param vnetId string
param tags object
param includeServiceBus bool

var zones = concat([
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.table.${environment().suffixes.storage}'
  'privatelink.queue.${environment().suffixes.storage}'
  'privatelink.vaultcore.azure.net'
  'privatelink.azurewebsites.net'
], includeServiceBus ? [
  'privatelink.servicebus.windows.net'
] : [])

resource privateZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for zone in zones: {
  name: zone
  location: 'global'
  tags: tags
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (zone, i) in zones: {
  parent: privateZones[i]
  name: 'link-${uniqueString(vnetId)}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}]

output blobZoneId string = privateZones[0].id
output tableZoneId string = privateZones[1].id
output queueZoneId string = privateZones[2].id
output vaultZoneId string = privateZones[3].id
output sitesZoneId string = privateZones[4].id
output serviceBusZoneId string = includeServiceBus ? privateZones[5].id : ''

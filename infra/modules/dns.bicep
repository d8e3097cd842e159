// The public DNS zone and the service's name, pointing at Traffic Manager.
param zoneName string
param hostName string
param target string
param tags object

resource zone 'Microsoft.Network/dnsZones@2018-05-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource record 'Microsoft.Network/dnsZones/CNAME@2018-05-01' = {
  parent: zone
  name: hostName
  properties: {
    TTL: 60
    CNAMERecord: {
      cname: target
    }
  }
}

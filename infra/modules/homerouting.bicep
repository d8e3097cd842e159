// Routing that sends each customer to its home stamp (infra/README.md,
// "Regions, homes and failover"):
//   - every stamp has a name of its own (<service>-<stamp>.<zone>), the
//     target of the app's 421 answers;
//   - every customer listed in main.bicep's customers has a host name of its
//     own with a Traffic Manager profile in Priority routing whose only
//     enabled endpoint is its home stamp's gateway. A standby is added by
//     the failover runbook, never enabled beside a live home.
// The service name's own profile (trafficmanager.bicep) may use Performance
// routing: every stamp answers a customer it is not the home of with a 421
// and never serves its data, so what it routes is safe anywhere.
param environmentName string
param tags object
@description('Public DNS zone; empty: no records (the Traffic Manager names are used).')
param zoneName string
param serviceHostName string
@description('The shared stamps: { name, target } with target the gateway\'s FQDN.')
param sharedStamps array
@description('The dedicated stamps, the same way.')
param dedicatedStamps array
@description('Customers with a host name of their own: { subscription, hostName, target } with target their home gateway\'s FQDN.')
param customers array

resource customerProfiles 'Microsoft.Network/trafficmanagerprofiles@2022-04-01' = [for c in customers: {
  name: 'tm-${environmentName}-${c.subscription}-${uniqueString(resourceGroup().id)}'
  location: 'global'
  tags: union(tags, {
    'collab-subscription': c.subscription
  })
  properties: {
    profileStatus: 'Enabled'
    trafficRoutingMethod: 'Priority'
    dnsConfig: {
      relativeName: toLower('${environmentName}-${c.subscription}-${uniqueString(resourceGroup().id)}')
      ttl: 60
    }
    monitorConfig: {
      protocol: 'HTTPS'
      port: 443
      path: '/api/health'
      intervalInSeconds: 30
      timeoutInSeconds: 10
      toleratedNumberOfFailures: 3
      expectedStatusCodeRanges: [
        {
          min: 200
          max: 200
        }
      ]
    }
    endpoints: [
      {
        name: 'home'
        type: 'Microsoft.Network/trafficManagerProfiles/externalEndpoints'
        properties: {
          target: c.target
          endpointStatus: 'Enabled'
          priority: 1
        }
      }
    ]
  }
}]

resource zone 'Microsoft.Network/dnsZones@2018-05-01' existing = if (!empty(zoneName)) {
  name: empty(zoneName) ? 'none' : zoneName
}

resource stampRecords 'Microsoft.Network/dnsZones/CNAME@2018-05-01' = [for s in (empty(zoneName) ? [] : concat(sharedStamps, dedicatedStamps)): {
  parent: zone
  name: '${serviceHostName}-${s.name}'
  properties: {
    TTL: 60
    CNAMERecord: {
      cname: s.target
    }
  }
}]

resource customerRecords 'Microsoft.Network/dnsZones/CNAME@2018-05-01' = [for (c, i) in (empty(zoneName) ? [] : customers): {
  parent: zone
  name: c.hostName
  properties: {
    TTL: 60
    CNAMERecord: {
      cname: customerProfiles[i].properties.dnsConfig.fqdn
    }
  }
}]

output customerHosts array = [for (c, i) in customers: empty(zoneName) ? customerProfiles[i].properties.dnsConfig.fqdn : '${c.hostName}.${zoneName}']

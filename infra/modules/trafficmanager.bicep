// Traffic Manager over one gateway per region, probing /api/health over
// HTTPS every 30 s (10 s timeout, 3 tolerated failures).
param environmentName string
param tags object
param routingMethod string
param endpoints array

resource profile 'Microsoft.Network/trafficmanagerprofiles@2022-04-01' = {
  name: 'tm-${environmentName}-${uniqueString(resourceGroup().id)}'
  location: 'global'
  tags: tags
  properties: {
    profileStatus: 'Enabled'
    trafficRoutingMethod: routingMethod
    dnsConfig: {
      relativeName: toLower('${environmentName}-${uniqueString(resourceGroup().id)}')
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
    endpoints: [for e in endpoints: {
      name: e.name
      type: 'Microsoft.Network/trafficManagerProfiles/externalEndpoints'
      properties: {
        target: e.target
        endpointLocation: e.location
        endpointStatus: 'Enabled'
        priority: e.priority
      }
    }]
  }
}

output fqdn string = profile.properties.dnsConfig.fqdn

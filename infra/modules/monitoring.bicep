// Log Analytics and Application Insights for one region; every diagnostic
// setting of the stamp sends here.
param environmentName string
param location string
param tags object

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${environmentName}-${location}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${environmentName}-${location}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

output workspaceId string = logs.id
output appInsightsId string = insights.id
output appInsightsName string = insights.name
output appInsightsConnectionString string = insights.properties.ConnectionString

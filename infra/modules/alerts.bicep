// Alert rules: the API's 5xx rate, a spike of WAF blocks, dead-lettered
// deployment requests.
param environmentName string
param location string
param tags object
param functionAppId string
param serviceBusId string
param workspaceId string

resource serverErrors 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${environmentName}-5xx-${location}'
  location: 'global'
  tags: tags
  properties: {
    description: 'The API answers 5xx.'
    severity: 2
    enabled: true
    scopes: [
      functionAppId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'http5xx'
          metricName: 'Http5xx'
          operator: 'GreaterThan'
          threshold: 10
          timeAggregation: 'Total'
          criterionType: 'StaticThresholdCriterion'
        }
      ]
    }
  }
}

resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${environmentName}-deadletter-${location}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Deployment requests were dead-lettered.'
    severity: 2
    enabled: true
    scopes: [
      serviceBusId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'deadlettered'
          metricName: 'DeadletteredMessages'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
          criterionType: 'StaticThresholdCriterion'
        }
      ]
    }
  }
}

resource wafBlocks 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${environmentName}-waf-blocks-${location}'
  location: location
  tags: tags
  properties: {
    description: 'A spike of requests blocked by the WAF.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'AGWFirewallLogs | where Action == "Blocked" | summarize blocked = count() by bin(TimeGenerated, 5m)'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'blocked'
          operator: 'GreaterThan'
          threshold: 100
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
  }
}

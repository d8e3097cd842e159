// Alert rules: the API's 5xx rate, a spike of WAF blocks, dead-lettered
// deployment requests, and the security center's events
// (docs/security-events.md): every "security event" and "security alert"
// line the handler logs lands in the workspace's AppTraces table through
// Application Insights, and the scheduled queries below alert on them. The
// security alerts and the WAF's e-mail the security contacts.
param environmentName string
param location string
param tags object
param functionAppId string
param serviceBusId string
param workspaceId string
@description('Who the security alerts e-mail, separated by semicolons.')
param securityContactEmails string

resource securityContacts 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${environmentName}-security-${location}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'collabsec'
    enabled: true
    emailReceivers: [for (address, i) in filter(split(securityContactEmails, ';'), a => !empty(trim(a))): {
      name: 'security-${i}'
      emailAddress: trim(address)
      useCommonAlertSchema: true
    }]
  }
}

// The handler's structured security lines (shared/secevent): one JSON object
// per line in AppTraces.Message, with msg, kind, reason, principal, ...
var securityEvents = 'AppTraces | where Message has \'"msg":"security event"\' | extend e = parse_json(Message)'

// One scheduled-query rule per threshold of secevent.DefaultRules that the
// service's own timer also alerts on, so that an operator sees them in Azure
// Monitor whatever the subscription owners do; and every alert the timer
// raises (including the operator's, which no subscription owner receives).
var securityQueries = [
  {
    name: 'signin-burst'
    description: 'Refused sign-ins: 20 for one account within 10 minutes.'
    query: '${securityEvents} | where tostring(e.kind) == "signin-refused" | summarize n = count() by principal = tostring(e.principal), bin(TimeGenerated, 10m) | where n >= 20'
    severity: 2
  }
  {
    name: 'metadata-egress'
    description: 'An outbound call aimed at a cloud metadata or platform address was refused.'
    query: '${securityEvents} | where tostring(e.kind) == "egress-refused" and tostring(e.reason) == "cloud-metadata"'
    severity: 1
  }
  {
    name: 'inbound-flood'
    description: 'Refused inbound e-mails: 50 within an hour.'
    query: '${securityEvents} | where tostring(e.kind) == "inbound-email-refused" | summarize n = count() by bin(TimeGenerated, 1h) | where n >= 50'
    severity: 3
  }
  {
    name: 'webhook-secret'
    description: 'Wrong inbound webhook secrets: 5 within 10 minutes.'
    query: '${securityEvents} | where tostring(e.kind) == "webhook-secret-wrong" | summarize n = count() by bin(TimeGenerated, 10m) | where n >= 5'
    severity: 2
  }
  {
    name: 'raised'
    description: 'The security center raised an alert (any threshold, any scope).'
    query: 'AppTraces | where Message has \'"msg":"security alert"\''
    severity: 2
  }
]

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

resource securityAlerts 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for q in securityQueries: {
  name: 'alert-${environmentName}-security-${q.name}-${location}'
  location: location
  tags: tags
  properties: {
    description: q.description
    severity: q.severity
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: q.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    muteActionsDuration: 'PT1H'
    actions: {
      actionGroups: [
        securityContacts.id
      ]
    }
  }
}]

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
    actions: {
      actionGroups: [
        securityContacts.id
      ]
    }
  }
}

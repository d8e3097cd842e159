// Application Gateway WAF_v2 in front of the Function App's private
// endpoint: HTTPS listener (certificate from Key Vault), health probe on
// /api/health/live (liveness), WAF policy in Prevention mode on the managed DRS and bot rule
// sets. Catalog uploads get per-rule exclusions and a custom rule (documented
// in infra/README.md) rather than a disabled rule group.
param environmentName string
param location string
param tags object
param subnetId string
param backendHostName string
param identityId string
param tlsCertificateSecretId string
param workspaceId string

var name = 'agw-${environmentName}-${location}'

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: 'pip-${name}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  zones: [
    '1'
    '2'
    '3'
  ]
  properties: {
    publicIPAllocationMethod: 'Static'
    dnsSettings: {
      domainNameLabel: toLower('${environmentName}-${uniqueString(resourceGroup().id)}')
    }
  }
}

resource wafPolicy 'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies@2024-05-01' = {
  name: 'waf-${environmentName}-${location}'
  location: location
  tags: tags
  properties: {
    policySettings: {
      state: 'Enabled'
      mode: 'Prevention'
      requestBodyCheck: true
      maxRequestBodySizeInKb: 2000
      fileUploadLimitInMb: 100
    }
    managedRules: {
      managedRuleSets: [
        {
          ruleSetType: 'Microsoft_DefaultRuleSet'
          ruleSetVersion: '2.1'
        }
        {
          ruleSetType: 'Microsoft_BotManagerRuleSet'
          ruleSetVersion: '1.0'
        }
      ]
      exclusions: [
        {
          // Check-in bodies carry Studio metadata names and commit messages that
          // trip these SQL-injection and XSS signatures; only these three rules
          // are excluded, and only for request body arguments. Content uploads
          // are raw application/octet-stream (the custom rule below refuses
          // anything else on that route), which the WAF does not parse.
          matchVariable: 'RequestBodyPostArgNames'
          selectorMatchOperator: 'EqualsAny'
          selector: '*'
          exclusionManagedRuleSets: [
            {
              ruleSetType: 'Microsoft_DefaultRuleSet'
              ruleSetVersion: '2.1'
              ruleGroups: [
                {
                  ruleGroupName: 'SQLI'
                  rules: [
                    {
                      ruleId: '942100'
                    }
                    {
                      ruleId: '942110'
                    }
                  ]
                }
                {
                  ruleGroupName: 'XSS'
                  rules: [
                    {
                      ruleId: '941100'
                    }
                  ]
                }
              ]
            }
          ]
        }
      ]
    }
    customRules: [
      {
        name: 'uploadsOnlyAsOctetStream'
        priority: 10
        ruleType: 'MatchRule'
        action: 'Block'
        matchConditions: [
          {
            matchVariables: [
              {
                variableName: 'RequestUri'
              }
            ]
            operator: 'Contains'
            matchValues: [
              '/catalog/blobs/'
            ]
          }
          {
            matchVariables: [
              {
                variableName: 'RequestHeaders'
                selector: 'Content-Type'
              }
            ]
            operator: 'Equal'
            negationConditon: true
            matchValues: [
              'application/octet-stream'
            ]
          }
        ]
      }
    ]
  }
}

resource gateway 'Microsoft.Network/applicationGateways@2024-05-01' = {
  name: name
  location: location
  tags: tags
  zones: [
    '1'
    '2'
    '3'
  ]
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    sku: {
      name: 'WAF_v2'
      tier: 'WAF_v2'
    }
    autoscaleConfiguration: {
      minCapacity: 1
      maxCapacity: 10
    }
    firewallPolicy: {
      id: wafPolicy.id
    }
    sslPolicy: {
      policyType: 'Predefined'
      policyName: 'AppGwSslPolicy20220101S'
    }
    gatewayIPConfigurations: [
      {
        name: 'gateway-ip'
        properties: {
          subnet: {
            id: subnetId
          }
        }
      }
    ]
    frontendIPConfigurations: [
      {
        name: 'public'
        properties: {
          publicIPAddress: {
            id: publicIp.id
          }
        }
      }
    ]
    frontendPorts: [
      {
        name: 'https'
        properties: {
          port: 443
        }
      }
    ]
    sslCertificates: [
      {
        name: 'service'
        properties: {
          keyVaultSecretId: tlsCertificateSecretId
        }
      }
    ]
    backendAddressPools: [
      {
        name: 'functions'
        properties: {
          backendAddresses: [
            {
              fqdn: backendHostName
            }
          ]
        }
      }
    ]
    probes: [
      {
        name: 'health'
        properties: {
          protocol: 'Https'
          // Liveness: the gateway fronts one backend per region, so a
          // storage outage must not take it out; Traffic Manager probes
          // readiness (/api/health) through the gateway and fails over.
          path: '/api/health/live'
          interval: 30
          timeout: 10
          unhealthyThreshold: 3
          pickHostNameFromBackendHttpSettings: true
          match: {
            statusCodes: [
              '200'
            ]
          }
        }
      }
    ]
    backendHttpSettingsCollection: [
      {
        name: 'functions-https'
        properties: {
          port: 443
          protocol: 'Https'
          pickHostNameFromBackendAddress: true
          requestTimeout: 120
          probe: {
            id: resourceId('Microsoft.Network/applicationGateways/probes', name, 'health')
          }
        }
      }
    ]
    httpListeners: [
      {
        name: 'https'
        properties: {
          protocol: 'Https'
          frontendIPConfiguration: {
            id: resourceId('Microsoft.Network/applicationGateways/frontendIPConfigurations', name, 'public')
          }
          frontendPort: {
            id: resourceId('Microsoft.Network/applicationGateways/frontendPorts', name, 'https')
          }
          sslCertificate: {
            id: resourceId('Microsoft.Network/applicationGateways/sslCertificates', name, 'service')
          }
        }
      }
    ]
    requestRoutingRules: [
      {
        name: 'to-functions'
        properties: {
          ruleType: 'Basic'
          priority: 100
          httpListener: {
            id: resourceId('Microsoft.Network/applicationGateways/httpListeners', name, 'https')
          }
          backendAddressPool: {
            id: resourceId('Microsoft.Network/applicationGateways/backendAddressPools', name, 'functions')
          }
          backendHttpSettings: {
            id: resourceId('Microsoft.Network/applicationGateways/backendHttpSettingsCollection', name, 'functions-https')
          }
        }
      }
    ]
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: gateway
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = gateway.id
output fqdn string = publicIp.properties.dnsSettings.fqdn

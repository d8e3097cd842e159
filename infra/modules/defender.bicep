// Microsoft Defender for Cloud on the subscription the service runs in:
// the plans for the resource kinds it uses (App Service / Functions,
// Storage, Key Vault, Resource Manager) and who Defender's alerts go to.
// Pricings and security contacts exist once per subscription, so this
// module is deployed at subscription scope from main.bicep.
targetScope = 'subscription'

@description('Turn the Defender plans on (Standard). false leaves them on the free tier (Foundational CSPM only); infra/README.md gives the cost.')
param enabled bool = true

@description('Addresses Defender for Cloud e-mails its alerts to, separated by semicolons (the subscription\'s Owners are told as well).')
param contactEmails string

@description('The lowest severity of Defender alert that is e-mailed.')
@allowed([
  'Low'
  'Medium'
  'High'
])
param minimalSeverity string = 'Medium'

var tier = enabled ? 'Standard' : 'Free'

// Functions on Flex Consumption are covered by the App Service plan.
resource appServices 'Microsoft.Security/pricings@2024-01-01' = {
  name: 'AppServices'
  properties: {
    pricingTier: tier
  }
}

// Per-account plan with on-upload malware scanning and sensitive data
// threat detection: the catalog's uploads are scanned before anyone reads them.
resource storage 'Microsoft.Security/pricings@2024-01-01' = {
  name: 'StorageAccounts'
  properties: {
    pricingTier: tier
    subPlan: enabled ? 'DefenderForStorageV2' : null
    extensions: enabled ? [
      {
        name: 'OnUploadMalwareScanning'
        isEnabled: 'True'
        additionalExtensionProperties: {
          CapGBPerMonthPerStorageAccount: '5000'
        }
      }
      {
        name: 'SensitiveDataDiscovery'
        isEnabled: 'True'
      }
    ] : null
  }
}

resource keyVaults 'Microsoft.Security/pricings@2024-01-01' = {
  name: 'KeyVaults'
  properties: {
    pricingTier: tier
    subPlan: enabled ? 'PerKeyVault' : null
  }
}

resource resourceManager 'Microsoft.Security/pricings@2024-01-01' = {
  name: 'Arm'
  properties: {
    pricingTier: tier
    subPlan: enabled ? 'PerSubscription' : null
  }
}

resource contacts 'Microsoft.Security/securityContacts@2023-12-01-preview' = {
  name: 'default'
  properties: {
    isEnabled: true
    emails: contactEmails
    notificationsByRole: {
      state: 'On'
      roles: [
        'Owner'
      ]
    }
    notificationsSources: [
      {
        sourceType: 'Alert'
        minimalSeverity: minimalSeverity
      }
      {
        sourceType: 'AttackPath'
        minimalRiskLevel: 'Critical'
      }
    ]
  }
}

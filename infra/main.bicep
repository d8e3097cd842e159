// Studio Collaboration Services: the whole Azure topology (DESIGN §6).
// DNS -> Traffic Manager -> Application Gateway WAF_v2 (one per region) ->
// Function App (private endpoint, VNet-integrated) -> Storage, Service Bus,
// Key Vault over private endpoints. Deploy with `azd up` or
// `az deployment sub create --location <region> --template-file infra/main.bicep --parameters infra/main.parameters.json`.
targetScope = 'subscription'

@minLength(1)
@maxLength(24)
@description('Name of the environment (azd env name); used in every resource name and the azd-env-name tag.')
param environmentName string

@description('Primary region.')
param location string

@description('Regions with a shared stamp each (a stamp is named after its region). Every customer subscription has one home stamp (the global directory); the others answer its requests with 421 naming the home and never hold its data.')
param regions array = [
  location
]

@allowed([
  'Performance'
  'Priority'
])
@description('Traffic Manager routing of the service name over the shared stamps. Performance is safe with any number of regions: a stamp that is not a customer\'s home serves none of its data (421 to the home). Customers listed in customers get a host name routed to their home.')
param trafficRoutingMethod string = 'Performance'

@description('Customers with a host name of their own routed to their home stamp (Priority routing, one enabled endpoint): { subscription, home (a region), hostName (inside dnsZoneName), dedicated (bool: a stamp of their own in home, refusing every other customer), addressSpace (the dedicated stamp\'s /16) }. Empty: everyone uses the service name.')
param customers array = []

@description('Standby region per home region (the Azure paired region), e.g. { westeurope: \'northeurope\' }. A stamp whose region is listed gets geo-zone-redundant storage (RA-GZRS) and is failed over by the runbook in infra/README.md. Empty: zone-redundant storage, no geo failover.')
param standbyRegions object = {}

@allowed([
  'Standard'
  'Premium'
])
@description('Service Bus tier. Private endpoints need Premium; with Standard the namespace stays reachable only with Entra ID tokens (local auth is off either way).')
param serviceBusSku string = 'Premium'

@description('Microsoft Defender for Cloud plans (App Service, Storage, Key Vault, Resource Manager) on the subscription; infra/README.md gives their cost. false leaves the free tier.')
param enableDefender bool = true

@description('Addresses Defender for Cloud and the security-event alerts e-mail, separated by semicolons (for example the operators\' on-call list).')
param securityContactEmails string

@description('Deploy Azure Firewall Premium with IDPS for the Functions egress.')
param deployFirewall bool = false

@description('Public DNS zone that hosts the service name (empty: no DNS records, use the Traffic Manager name).')
param dnsZoneName string = ''

@description('Host name of the service inside dnsZoneName.')
param serviceHostName string = 'collab'

@description('Key Vault secret id (versionless URI) of the TLS certificate of the gateways HTTPS listener; operators upload it before the first deployment.')
param tlsCertificateSecretId string

@description('E-mail: SMTP relay (host, port, tls starttls|tls, username), From, the reply domain routed to the inbound webhook or mailbox, the public URL of links, whether replies need a DKIM/SPF pass, and the optional IMAP mailbox (empty host: no polling). Passwords, keys and the webhook secret are Key Vault secrets (infra/README.md).')
param mail object = {
  smtpHost: ''
  smtpPort: '587'
  smtpTls: 'starttls'
  smtpUsername: ''
  from: 'Studio Collaboration <noreply@${serviceHostName}.example.com>'
  replyDomain: 'reply.${serviceHostName}.example.com'
  publicUrl: 'https://${serviceHostName}.example.com'
  inboundRequireAuth: 'true'
  imapHost: ''
  imapPort: '993'
  imapUsername: ''
  imapMailbox: 'INBOX'
  imapAuthservId: ''
}

@description('Address space of each region, one /16 per region in the order of regions.')
param addressSpaces array = [
  '10.40.0.0/16'
  '10.41.0.0/16'
  '10.42.0.0/16'
]

@description('Application (client) id of the API\'s Entra ID app registration (a GUID). Its manifest says accessTokenAcceptedVersion 2, so its access tokens carry aud = this id; infra/README.md registers it.')
param apiClientId string

@description('The API\'s App ID URI (identifierUris): the prefix of the scope the console asks for, and the audience of v1 access tokens.')
param apiAppIdUri string = 'api://studio-collab-${environmentName}'

@description('Also accept the tenant\'s v1 access tokens (iss https://sts.windows.net/<tid>/, aud = the App ID URI): only for an API registration left at accessTokenAcceptedVersion null/1.')
param acceptV1Tokens bool = false

@description('Client id of the web console\'s Entra ID app registration (a single-page application whose redirect URI is https://<service host>/console/auth). Empty: the console offers no Entra sign-in.')
param consoleClientId string = ''

var tags = {
  'azd-env-name': environmentName
  application: 'studio-collab'
}

// Tables, containers and queues the handler bootstraps (handlers.StorageLayouts);
// a test in infra/ keeps these lists equal to the code's.
var storageTables = [
  'subscriptions'
  'subusers'
  'useridx'
  'invitations'
  'projects'
  'members'
  'memberidx'
  'teams'
  'environments'
  'audit'
  'idempotency'
  'jobs'
  'jobruns'
  'jobopen'
  'notifications'
  'deployenvs'
  'deployments'
  'deploypending'
  'windows'
  'parameters'
  'connectors'
  'catalogheads'
  'catalogobjects'
  'cataloghistory'
  'catalogfeed'
  'catalogkeys'
  'cataloglocks'
  'catalogblobs'
  'emailtasks'
  'secevents'
  'secalerts'
]
var storageContainers = [
  'security'
  'catalog'
  'bootstrap'
]
var storageQueues = [
  'outbox'
  'deployrequests'
  'emailcallbacks'
]

// Stamps: one shared stamp per region, one dedicated stamp per dedicated
// customer. Each has a name and a public URL (the target of 421 answers):
// <service>-<name>.<zone>, or its gateway's own name without a zone.
var dedicatedCustomers = filter(customers, c => c.dedicated)
var dedicatedIds = map(dedicatedCustomers, c => c.subscription)
var stampList = concat(map(regions, r => {
  name: r
  region: r
  group: 'rg-${environmentName}-${r}'
  dedicatedSubscription: ''
}), map(dedicatedCustomers, c => {
  name: 'ded-${c.subscription}'
  region: c.home
  group: 'rg-${environmentName}-ded-${c.subscription}'
  dedicatedSubscription: c.subscription
}))
var stampUrls = map(stampList, s => empty(dnsZoneName) ? 'https://${toLower('${environmentName}-${uniqueString('${subscription().id}/resourceGroups/${s.group}')}')}.${s.region}.cloudapp.azure.com' : 'https://${serviceHostName}-${s.name}.${dnsZoneName}')
var stampUrlSetting = join(map(range(0, length(stampList)), i => '${stampList[i].name}=${stampUrls[i]}'), ',')
var serviceUrl = empty(dnsZoneName) ? '' : 'https://${serviceHostName}.${dnsZoneName}'
var consoleOrigins = concat(stampUrls, empty(serviceUrl) ? [] : [
  serviceUrl
], empty(dnsZoneName) ? [] : map(customers, c => 'https://${c.hostName}.${dnsZoneName}'))

resource globalRg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}-global'
  location: location
  tags: tags
}

resource regionRgs 'Microsoft.Resources/resourceGroups@2024-03-01' = [for region in regions: {
  name: 'rg-${environmentName}-${region}'
  location: region
  tags: tags
}]

resource dedicatedRgs 'Microsoft.Resources/resourceGroups@2024-03-01' = [for c in dedicatedCustomers: {
  name: 'rg-${environmentName}-ded-${c.subscription}'
  location: c.home
  tags: union(tags, {
    'collab-subscription': c.subscription
  })
}]

// The global directory: every subscription's home, read by every stamp.
module directory 'modules/directory.bicep' = {
  name: 'directory'
  scope: globalRg
  params: {
    environmentName: environmentName
    location: location
    tags: tags
  }
}

module stamps 'modules/stamp.bicep' = [for (region, i) in regions: {
  name: 'stamp-${region}'
  scope: regionRgs[i]
  params: {
    environmentName: environmentName
    location: region
    tags: tags
    addressSpace: addressSpaces[i]
    serviceBusSku: serviceBusSku
    deployFirewall: deployFirewall
    tlsCertificateSecretId: tlsCertificateSecretId
    storageTables: storageTables
    storageContainers: storageContainers
    storageQueues: storageQueues
    mail: mail
    consoleClientId: consoleClientId
    apiClientId: apiClientId
    apiAppIdUri: apiAppIdUri
    acceptV1Tokens: acceptV1Tokens
    securityContactEmails: securityContactEmails
    stamp: {
      name: region
      // Links in e-mails (invitations) go to the stamp that sent them: the home.
      publicUrl: length(stampList) > 1 ? stampUrls[i] : mail.publicUrl
      // Task replies come back to the stamp that holds the task: one reply domain per stamp.
      replyDomain: length(stampList) > 1 ? '${region}.${mail.replyDomain}' : mail.replyDomain
      urls: stampUrlSetting
      origins: consoleOrigins
      dedicatedSubscription: ''
      geoRedundant: contains(standbyRegions, region)
      directoryId: directory.outputs.id
      directoryName: directory.outputs.name
      directoryTableUri: directory.outputs.tableEndpoint
      directoryResourceGroup: globalRg.name
    }
  }
}]

// A dedicated customer's stamp: its own everything, serving that customer
// only (COLLAB_DEDICATED_SUBSCRIPTION), reached through its own host name.
module dedicatedStamps 'modules/stamp.bicep' = [for (c, i) in dedicatedCustomers: {
  name: 'stamp-ded-${c.subscription}'
  scope: dedicatedRgs[i]
  params: {
    environmentName: environmentName
    location: c.home
    tags: union(tags, {
      'collab-subscription': c.subscription
    })
    addressSpace: c.addressSpace
    serviceBusSku: serviceBusSku
    deployFirewall: deployFirewall
    tlsCertificateSecretId: tlsCertificateSecretId
    storageTables: storageTables
    storageContainers: storageContainers
    storageQueues: storageQueues
    mail: mail
    consoleClientId: consoleClientId
    apiClientId: apiClientId
    apiAppIdUri: apiAppIdUri
    acceptV1Tokens: acceptV1Tokens
    securityContactEmails: securityContactEmails
    stamp: {
      name: 'ded-${c.subscription}'
      publicUrl: stampUrls[length(regions) + i]
      replyDomain: 'ded-${c.subscription}.${mail.replyDomain}'
      urls: stampUrlSetting
      origins: consoleOrigins
      dedicatedSubscription: c.subscription
      geoRedundant: contains(standbyRegions, c.home)
      directoryId: directory.outputs.id
      directoryName: directory.outputs.name
      directoryTableUri: directory.outputs.tableEndpoint
      directoryResourceGroup: globalRg.name
    }
  }
}]

module defender 'modules/defender.bicep' = {
  name: 'defender'
  params: {
    enabled: enableDefender
    contactEmails: securityContactEmails
  }
}

module traffic 'modules/trafficmanager.bicep' = {
  name: 'traffic'
  scope: globalRg
  params: {
    environmentName: environmentName
    tags: tags
    routingMethod: trafficRoutingMethod
    endpoints: [for (region, i) in regions: {
      name: region
      location: region
      target: stamps[i].outputs.gatewayFqdn
      priority: i + 1
    }]
  }
}

// Each listed customer's host name goes to its home stamp only (Priority,
// one enabled endpoint); each stamp's own name goes to its gateway.
module homes 'modules/homerouting.bicep' = {
  name: 'homes'
  scope: globalRg
  dependsOn: [
    dns
  ]
  params: {
    environmentName: environmentName
    tags: tags
    zoneName: dnsZoneName
    serviceHostName: serviceHostName
    sharedStamps: [for (region, i) in regions: {
      name: region
      target: stamps[i].outputs.gatewayFqdn
    }]
    dedicatedStamps: [for (c, i) in dedicatedCustomers: {
      name: 'ded-${c.subscription}'
      target: dedicatedStamps[i].outputs.gatewayFqdn
    }]
    customers: [for c in customers: {
      subscription: c.subscription
      hostName: c.hostName
      target: c.dedicated ? dedicatedStamps[indexOf(dedicatedIds, c.subscription)].outputs.gatewayFqdn : stamps[indexOf(regions, c.home)].outputs.gatewayFqdn
    }]
  }
}

module dns 'modules/dns.bicep' = if (!empty(dnsZoneName)) {
  name: 'dns'
  scope: globalRg
  params: {
    zoneName: dnsZoneName
    hostName: serviceHostName
    target: traffic.outputs.fqdn
    tags: tags
  }
}

output AZURE_LOCATION string = location
output SERVICE_URL string = empty(dnsZoneName) ? 'https://${traffic.outputs.fqdn}' : 'https://${serviceHostName}.${dnsZoneName}'
output TRAFFIC_MANAGER_FQDN string = traffic.outputs.fqdn
output STAMP_URLS string = stampUrlSetting
output CUSTOMER_HOSTS array = homes.outputs.customerHosts

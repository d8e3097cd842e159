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

@description('Regions the service runs in; Traffic Manager spreads traffic over one gateway per region.')
param regions array = [
  location
]

@allowed([
  'Performance'
  'Priority'
])
@description('Traffic Manager routing over the regions.')
param trafficRoutingMethod string = 'Performance'

@allowed([
  'Standard'
  'Premium'
])
@description('Service Bus tier. Private endpoints need Premium; with Standard the namespace stays reachable only with Entra ID tokens (local auth is off either way).')
param serviceBusSku string = 'Premium'

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
  }
}]

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

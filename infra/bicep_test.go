package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/settings"
)

func bicepFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".bicep") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) < 10 {
		t.Fatalf("bicep files: %v %v", out, err)
	}
	sort.Strings(out)
	return out
}

func parsed(t *testing.T, path string) *File {
	t.Helper()
	f, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEveryTemplateParses: zero syntax errors in every .bicep file.
func TestEveryTemplateParses(t *testing.T) {
	for _, p := range bicepFiles(t) {
		f := parsed(t, p)
		for _, e := range f.Errors {
			t.Errorf("%s", e)
		}
		if len(f.Resources) == 0 && !strings.HasSuffix(p, "main.bicep") && !strings.Contains(string(f.Src), "module ") {
			t.Errorf("%s declares no resource", p)
		}
	}
	// The check can fail: a broken template is reported with its position.
	broken := ParseSource("broken.bicep", []byte("resource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'a'\n  properties: {\n"))
	if len(broken.Errors) == 0 {
		t.Fatal("an unterminated object parsed without errors")
	}
}

// rule is one secure default, checked over the parsed resources of a file.
type rule struct {
	name  string // the sentence it enforces
	file  string
	check func(f *File) error
	// mutate turns the template into one that breaks the rule (old -> new,
	// first occurrence): the test shows the rule then fails.
	mutateOld, mutateNew string
}

func resourcesOf(f *File, typ string) []Resource {
	var out []Resource
	for _, r := range f.Resources {
		if strings.EqualFold(r.Type, typ) && !r.Existing {
			out = append(out, r)
		}
	}
	return out
}

// want checks that every resource of typ in f has prop == value.
func want(typ, prop string, value any) func(f *File) error {
	return func(f *File) error {
		rs := resourcesOf(f, typ)
		if len(rs) == 0 {
			return fmt.Errorf("no %s in %s", typ, f.Path)
		}
		for _, r := range rs {
			v, ok := Get(r.Body, prop)
			if !ok || v != value {
				return fmt.Errorf("%s %s (line %d): %s = %v, want %v", typ, r.Symbol, r.Line, prop, v, value)
			}
		}
		return nil
	}
}

func all(checks ...func(f *File) error) func(f *File) error {
	return func(f *File) error {
		for _, c := range checks {
			if err := c(f); err != nil {
				return err
			}
		}
		return nil
	}
}

var rules = []rule{
	{"storage: TLS 1.2 minimum", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "TLS1_2"), "'TLS1_2'", "'TLS1_0'"},
	{"storage: no public blob access", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.allowBlobPublicAccess", false), "allowBlobPublicAccess: false", "allowBlobPublicAccess: true"},
	{"storage: no shared-key access", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", false), "allowSharedKeyAccess: false", "allowSharedKeyAccess: true"},
	{"storage: HTTPS only", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.supportsHttpsTrafficOnly", true), "supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false"},
	{"storage: infrastructure encryption", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.encryption.requireInfrastructureEncryption", true), "requireInfrastructureEncryption: true", "requireInfrastructureEncryption: false"},
	{"storage: no public network access", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts", "properties.publicNetworkAccess", "Disabled"), "publicNetworkAccess: 'Disabled'", "publicNetworkAccess: 'Enabled'"},
	{"storage containers: no anonymous access", "modules/storage.bicep", want("Microsoft.Storage/storageAccounts/blobServices/containers", "properties.publicAccess", "None"), "publicAccess: 'None'", "publicAccess: 'Blob'"},
	{"WAF: Prevention mode, never Detection", "modules/appgateway.bicep", want("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "properties.policySettings.mode", "Prevention"), "mode: 'Prevention'", "mode: 'Detection'"},
	{"WAF: policy enabled", "modules/appgateway.bicep", want("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "properties.policySettings.state", "Enabled"), "state: 'Enabled'", "state: 'Disabled'"},
	{"WAF: on the managed Default Rule Set", "modules/appgateway.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies") {
			sets, _ := Get(r.Body, "properties.managedRules.managedRuleSets")
			for _, s := range asList(sets) {
				if m, ok := s.(map[string]any); ok && (m["ruleSetType"] == "Microsoft_DefaultRuleSet" || m["ruleSetType"] == "OWASP") {
					return nil
				}
			}
		}
		return fmt.Errorf("no managed OWASP/DRS rule set")
	}, "ruleSetType: 'Microsoft_DefaultRuleSet'\n          ruleSetVersion: '2.1'\n        }", "ruleSetType: 'Custom'\n          ruleSetVersion: '2.1'\n        }"},
	{"WAF: no managed rule group disabled wholesale", "modules/appgateway.bicep", func(f *File) error {
		if strings.Contains(string(f.Src), "ruleGroupOverrides") {
			return fmt.Errorf("rule group overrides found: use per-rule exclusions")
		}
		return nil
	}, "exclusions: [", "ruleGroupOverrides: []\n      exclusions: ["},
	{"gateway: WAF_v2 with the policy attached", "modules/appgateway.bicep", all(
		want("Microsoft.Network/applicationGateways", "properties.sku.tier", "WAF_v2"),
		func(f *File) error {
			for _, r := range resourcesOf(f, "Microsoft.Network/applicationGateways") {
				if _, ok := Get(r.Body, "properties.firewallPolicy.id"); !ok {
					return fmt.Errorf("no firewallPolicy")
				}
			}
			return nil
		}), "tier: 'WAF_v2'", "tier: 'Standard_v2'"},
	{"gateway: probe on liveness, /api/health/live (a storage outage must not drop the region's only backend; Traffic Manager probes readiness)", "modules/appgateway.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Network/applicationGateways") {
			probes, _ := Get(r.Body, "properties.probes")
			for _, p := range asList(probes) {
				if v, _ := Get(p.(map[string]any), "properties.path"); v == "/api/health/live" {
					return nil
				}
			}
		}
		return fmt.Errorf("no /api/health/live probe")
	}, "path: '/api/health/live'", "path: '/api/health'"},
	{"Flex Consumption's per-instance HTTP concurrency is the one number host.json and the handler's bound use", "modules/functionapp.bicep", func(f *File) error {
		site := resourcesOf(f, "Microsoft.Web/sites")
		if len(site) == 0 {
			return fmt.Errorf("no site")
		}
		if v, _ := Get(site[0].Body, "properties.functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency"); fmt.Sprint(v) != "{httpPerInstanceConcurrency}" {
			return fmt.Errorf("perInstanceConcurrency = %v, want the httpPerInstanceConcurrency parameter", v)
		}
		if !strings.Contains(string(f.Src), "{ name: 'COLLAB_MAX_IN_FLIGHT', value: string(httpPerInstanceConcurrency) }") {
			return fmt.Errorf("COLLAB_MAX_IN_FLIGHT is not set from httpPerInstanceConcurrency")
		}
		m := regexp.MustCompile(`param httpPerInstanceConcurrency int = (\d+)`).FindSubmatch(f.Src)
		if m == nil {
			return fmt.Errorf("httpPerInstanceConcurrency has no literal default")
		}
		var host struct {
			Extensions struct {
				HTTP struct{ MaxConcurrentRequests, MaxOutstandingRequests int } `json:"http"`
			} `json:"extensions"`
		}
		b, err := os.ReadFile("../host.json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &host); err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(m[1]))
		if n != host.Extensions.HTTP.MaxConcurrentRequests || n != settings.DefaultMaxInFlight {
			return fmt.Errorf("per-instance concurrency %d, host.json maxConcurrentRequests %d, handler default %d: they must agree",
				n, host.Extensions.HTTP.MaxConcurrentRequests, settings.DefaultMaxInFlight)
		}
		if o := host.Extensions.HTTP.MaxOutstandingRequests; o < n || o > 4*n {
			return fmt.Errorf("host.json maxOutstandingRequests %d: want between %d and %d (a short queue: p99 under a second at saturation)", o, n, 4*n)
		}
		return nil
	}, "perInstanceConcurrency: httpPerInstanceConcurrency", "perInstanceConcurrency: 100"},
	{"gateway: HTTPS listener only", "modules/appgateway.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Network/applicationGateways") {
			ls, _ := Get(r.Body, "properties.httpListeners")
			for _, l := range asList(ls) {
				if v, _ := Get(l.(map[string]any), "properties.protocol"); v != "Https" {
					return fmt.Errorf("listener with protocol %v", v)
				}
			}
		}
		return nil
	}, "protocol: 'Https'\n          frontendIPConfiguration", "protocol: 'Http'\n          frontendIPConfiguration"},
	{"Service Bus: local auth disabled", "modules/servicebus.bicep", want("Microsoft.ServiceBus/namespaces", "properties.disableLocalAuth", true), "disableLocalAuth: true", "disableLocalAuth: false"},
	{"Service Bus: deployment queue has sessions", "modules/servicebus.bicep", want("Microsoft.ServiceBus/namespaces/queues", "properties.requiresSession", true), "requiresSession: true", "requiresSession: false"},
	{"Service Bus: duplicate detection", "modules/servicebus.bicep", want("Microsoft.ServiceBus/namespaces/queues", "properties.requiresDuplicateDetection", true), "requiresDuplicateDetection: true", "requiresDuplicateDetection: false"},
	{"Service Bus: dead-lettering on expiry", "modules/servicebus.bicep", want("Microsoft.ServiceBus/namespaces/queues", "properties.deadLetteringOnMessageExpiration", true), "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: false"},
	{"Key Vault: RBAC authorization", "modules/keyvault.bicep", want("Microsoft.KeyVault/vaults", "properties.enableRbacAuthorization", true), "enableRbacAuthorization: true", "enableRbacAuthorization: false"},
	{"Key Vault: purge protection", "modules/keyvault.bicep", want("Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", true), "enablePurgeProtection: true", "enablePurgeProtection: false"},
	{"Key Vault: soft delete", "modules/keyvault.bicep", want("Microsoft.KeyVault/vaults", "properties.enableSoftDelete", true), "enableSoftDelete: true", "enableSoftDelete: false"},
	{"Key Vault: no public network access", "modules/keyvault.bicep", want("Microsoft.KeyVault/vaults", "properties.publicNetworkAccess", "Disabled"), "publicNetworkAccess: 'Disabled'", "publicNetworkAccess: 'Enabled'"},
	{"Function App: HTTPS only", "modules/functionapp.bicep", want("Microsoft.Web/sites", "properties.httpsOnly", true), "httpsOnly: true", "httpsOnly: false"},
	{"Function App: TLS 1.2 minimum", "modules/functionapp.bicep", want("Microsoft.Web/sites", "properties.siteConfig.minTlsVersion", "1.2"), "minTlsVersion: '1.2'", "minTlsVersion: '1.0'"},
	{"Function App: FTPS disabled", "modules/functionapp.bicep", want("Microsoft.Web/sites", "properties.siteConfig.ftpsState", "Disabled"), "ftpsState: 'Disabled'", "ftpsState: 'AllAllowed'"},
	{"Function App: public network access off", "modules/functionapp.bicep", want("Microsoft.Web/sites", "properties.publicNetworkAccess", "Disabled"), "publicNetworkAccess: 'Disabled'", "publicNetworkAccess: 'Enabled'"},
	{"Function App: user-assigned identity", "modules/functionapp.bicep", want("Microsoft.Web/sites", "identity.type", "UserAssigned"), "type: 'UserAssigned'\n    userAssignedIdentities", "type: 'SystemAssigned'\n    userAssignedIdentities"},
	{"Function App: Flex Consumption FC1, custom runtime", "modules/functionapp.bicep", all(
		want("Microsoft.Web/serverfarms", "sku.name", "FC1"),
		want("Microsoft.Web/sites", "properties.functionAppConfig.runtime.name", "custom")), "name: 'FC1'", "name: 'Y1'"},
	{"Function App: VNet-integrated", "modules/functionapp.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Web/sites") {
			if _, ok := Get(r.Body, "properties.virtualNetworkSubnetId"); !ok {
				return fmt.Errorf("no virtualNetworkSubnetId")
			}
		}
		return nil
	}, "virtualNetworkSubnetId: functionsSubnetId", "vnetRouteAllEnabled: false"},
	{"Functions subnet delegated as Flex Consumption requires", "modules/network.bicep", func(f *File) error {
		if !strings.Contains(string(f.Src), "serviceName: 'Microsoft.App/environments'") {
			return fmt.Errorf("snet-functions is not delegated to Microsoft.App/environments")
		}
		return nil
	}, "serviceName: 'Microsoft.App/environments'", "serviceName: 'Microsoft.Web/serverFarms'"},
	{"Traffic Manager: HTTPS probe of /api/health every 30 s, 10 s timeout, 3 tolerated failures", "modules/trafficmanager.bicep", all(
		want("Microsoft.Network/trafficmanagerprofiles", "properties.monitorConfig.protocol", "HTTPS"),
		want("Microsoft.Network/trafficmanagerprofiles", "properties.monitorConfig.path", "/api/health"),
		want("Microsoft.Network/trafficmanagerprofiles", "properties.monitorConfig.intervalInSeconds", 30),
		want("Microsoft.Network/trafficmanagerprofiles", "properties.monitorConfig.timeoutInSeconds", 10),
		want("Microsoft.Network/trafficmanagerprofiles", "properties.monitorConfig.toleratedNumberOfFailures", 3)), "intervalInSeconds: 30", "intervalInSeconds: 10"},
	{"Firewall: Premium with IDPS in Alert and Deny", "modules/firewall.bicep", all(
		want("Microsoft.Network/azureFirewalls", "properties.sku.tier", "Premium"),
		want("Microsoft.Network/firewallPolicies", "properties.intrusionDetection.mode", "Deny")), "intrusionDetection: {\n      mode: 'Deny'", "intrusionDetection: {\n      mode: 'Alert'"},
	{"Firewall: on only by the deployFirewall parameter", "modules/stamp.bicep", func(f *File) error {
		if !regexp.MustCompile(`module firewall 'firewall.bicep' = if \(deployFirewall\)`).Match(f.Src) {
			return fmt.Errorf("the firewall module is not conditional on deployFirewall")
		}
		return nil
	}, "module firewall 'firewall.bicep' = if (deployFirewall) {", "module firewall 'firewall.bicep' = {"},
	{"Functions egress routed through the firewall when it is on", "modules/network.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Network/routeTables") {
			routes, _ := Get(r.Body, "properties.routes")
			for _, rt := range asList(routes) {
				m := rt.(map[string]any)
				if p, _ := Get(m, "properties.addressPrefix"); p == "0.0.0.0/0" {
					if h, _ := Get(m, "properties.nextHopType"); h != "VirtualAppliance" {
						return fmt.Errorf("the default route goes to %v, not the firewall", h)
					}
					if !strings.Contains(string(f.Src), "routeTable: deployFirewall ? {\n        id: egressRoutes.id") {
						return fmt.Errorf("the functions subnet does not use the route table")
					}
					return nil
				}
			}
		}
		return fmt.Errorf("no default route")
	}, "nextHopType: 'VirtualAppliance'", "nextHopType: 'Internet'"},
	{"every private endpoint has its DNS zone group", "modules/privateendpoint.bicep", func(f *File) error {
		pes := resourcesOf(f, "Microsoft.Network/privateEndpoints")
		groups := resourcesOf(f, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
		for _, pe := range pes {
			found := false
			for _, g := range groups {
				if p, ok := g.Body["parent"].(Expr); ok && p.Text == pe.Symbol {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("private endpoint %s has no privateDnsZoneGroups", pe.Symbol)
			}
		}
		return nil
	}, "parent: endpoint", "parent: other"},
	{"role assignments: least privilege, scoped to one resource, by built-in GUID", "modules/roles.bicep", func(f *File) error {
		allowed := map[string]bool{"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": true, "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": true,
			"974c5e8b-45b9-4653-ba55-5f855dd0fb88": true, "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": true,
			"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": true, "4633458b-17de-408a-b874-0445c86b69e6": true,
			"b86a8fe4-44ce-4948-aee5-eccb2c155cd7": true, // Key Vault Secrets Officer: the parameters' vault only
			"3913510d-42f4-4e42-8a64-420c390055eb": true} // Monitoring Metrics Publisher: App Insights only
		roles, _ := f.Vars["roles"].(map[string]any)
		for _, g := range roles {
			if !allowed[fmt.Sprint(g)] {
				return fmt.Errorf("role %v is not one of the least-privilege roles", g)
			}
		}
		existing := map[string]bool{}
		for _, r := range f.Resources {
			if r.Existing {
				existing[r.Symbol] = true
			}
		}
		ras := resourcesOf(f, "Microsoft.Authorization/roleAssignments")
		if len(ras) < 6 {
			return fmt.Errorf("%d role assignments, want the 6 roles", len(ras))
		}
		for _, r := range ras {
			scope, ok := r.Body["scope"].(Expr)
			if !ok || !existing[scope.Text] {
				return fmt.Errorf("role assignment %s is scoped to %v, not to a single resource", r.Symbol, r.Body["scope"])
			}
		}
		return nil
	}, "  scope: storage\n  name: guid(storage.id, principalId, roles.storageBlobDataOwner)", "  scope: resourceGroup()\n  name: guid(storage.id, principalId, roles.storageBlobDataOwner)"},
	{"telemetry: App Insights with local auth disabled gets Monitoring Metrics Publisher for the app's identity", "modules/roles.bicep",
		roleOn("insights", "monitoringMetricsPublisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
		"  scope: insights\n  name: guid(insights.id", "  scope: vault\n  name: guid(insights.id"},
	{"Service Bus trigger: Azure Service Bus Data Receiver on the namespace", "modules/roles.bicep",
		roleOn("serviceBus", "serviceBusDataReceiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"),
		"roles.serviceBusDataReceiver)\n  }\n}", "roles.serviceBusDataSender)\n  }\n}"},
	{"Service Bus sends: Azure Service Bus Data Sender on the namespace", "modules/roles.bicep",
		roleOn("serviceBus", "serviceBusDataSender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
		"  scope: serviceBus\n  name: guid(serviceBus.id, principalId, roles.serviceBusDataSender)", "  scope: storage\n  name: guid(serviceBus.id, principalId, roles.serviceBusDataSender)"},
	{"telemetry: identity-based (Authorization=AAD) since App Insights refuses local auth", "modules/monitoring.bicep", func(f *File) error {
		ins := resourcesOf(f, "Microsoft.Insights/components")
		if len(ins) != 1 {
			return fmt.Errorf("%d App Insights components", len(ins))
		}
		if v, _ := Get(ins[0].Body, "properties.DisableLocalAuth"); v != true {
			return fmt.Errorf("DisableLocalAuth is %v", v)
		}
		return nil
	}, "DisableLocalAuth: true", "DisableLocalAuth: false"},
	{"the app names its environment explicitly, and never 'local'", "modules/functionapp.bicep", func(f *File) error {
		sites := resourcesOf(f, "Microsoft.Web/sites")
		if len(sites) != 1 {
			return fmt.Errorf("%d sites", len(sites))
		}
		list, _ := Get(sites[0].Body, "properties.siteConfig.appSettings")
		for _, s := range asList(list) {
			m, _ := s.(map[string]any)
			switch fmt.Sprint(m["name"]) {
			case "COLLAB_ENVIRONMENT":
				v := fmt.Sprint(m["value"])
				if e, ok := m["value"].(Expr); ok {
					v = e.Text
				}
				if strings.Trim(v, "'") == "local" || strings.Trim(v, "'") == "" {
					return fmt.Errorf("COLLAB_ENVIRONMENT is %s", v)
				}
				return nil
			case "WEBSITE_TIME_ZONE":
				return fmt.Errorf("WEBSITE_TIME_ZONE is not supported on Linux Flex Consumption: timers run in UTC")
			}
		}
		return fmt.Errorf("no COLLAB_ENVIRONMENT app setting")
	}, "{ name: 'COLLAB_ENVIRONMENT', value: 'azure-${environmentName}' }", "{ name: 'COLLAB_ENVIRONMENT', value: 'local' }"},
	{"diagnostic settings on the gateway", "modules/appgateway.bicep", diagnosticsOn("gateway"), "scope: gateway", "scope: publicIp"},
	{"diagnostic settings on the firewall", "modules/firewall.bicep", diagnosticsOn("firewall"), "scope: firewall", "scope: publicIp"},
	{"diagnostic settings on storage", "modules/storage.bicep", diagnosticsOn("account"), "scope: account", "scope: blobService"},
	{"diagnostic settings on Service Bus", "modules/servicebus.bicep", diagnosticsOn("namespace"), "scope: namespace", "scope: deployQueue"},
	{"alerts: 5xx rate, WAF blocks spike, dead letters", "modules/alerts.bicep", func(f *File) error {
		src := string(f.Src)
		for _, w := range []string{"'Http5xx'", "Action == \"Blocked\"", "'DeadletteredMessages'"} {
			if !strings.Contains(src, w) {
				return fmt.Errorf("no alert on %s", w)
			}
		}
		return nil
	}, "'DeadletteredMessages'", "'ActiveMessages'"},
	{"Defender for Cloud: App Service, Storage, Key Vault and Resource Manager plans at subscription scope", "modules/defender.bicep", defenderPlans, "name: 'KeyVaults'", "name: 'VirtualMachines'"},
	{"Defender for Cloud: plans on by default (Standard), free tier only by the parameter", "modules/defender.bicep", func(f *File) error {
		if !strings.Contains(string(f.Src), "param enabled bool = true") {
			return fmt.Errorf("the plans are not on by default")
		}
		if !strings.Contains(string(f.Src), "var tier = enabled ? 'Standard' : 'Free'") {
			return fmt.Errorf("the tier does not follow the parameter")
		}
		return nil
	}, "param enabled bool = true", "param enabled bool = false"},
	{"Defender for Cloud: main deploys the plans with enableDefender on by default", "main.bicep", func(f *File) error {
		src := string(f.Src)
		if !strings.Contains(src, "param enableDefender bool = true") || !strings.Contains(src, "module defender 'modules/defender.bicep'") ||
			!strings.Contains(src, "enabled: enableDefender") {
			return fmt.Errorf("main.bicep does not deploy modules/defender.bicep with enableDefender (default true)")
		}
		return nil
	}, "enabled: enableDefender", "enabled: false"},
	{"Defender for Cloud: security contacts e-mailed on alerts, owners told", "modules/defender.bicep", func(f *File) error {
		cs := resourcesOf(f, "Microsoft.Security/securityContacts")
		if len(cs) != 1 {
			return fmt.Errorf("%d security contacts", len(cs))
		}
		c := cs[0].Body
		if v, _ := Get(c, "properties.emails"); fmt.Sprint(v) != fmt.Sprint(Expr{"contactEmails"}) {
			return fmt.Errorf("contact emails = %v", v)
		}
		if v, _ := Get(c, "properties.notificationsByRole.state"); v != "On" {
			return fmt.Errorf("owners are not notified: %v", v)
		}
		for _, src := range asList(mustGet(c, "properties.notificationsSources")) {
			if m, _ := src.(map[string]any); m["sourceType"] == "Alert" {
				return nil
			}
		}
		return fmt.Errorf("no alert notifications")
	}, "sourceType: 'Alert'", "sourceType: 'None'"},
	{"WAF: blocked requests to Log Analytics in resource-specific tables (AGWFirewallLogs)", "modules/appgateway.bicep", func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Insights/diagnosticSettings") {
			if s, _ := r.Body["scope"].(Expr); s.Text != "gateway" {
				continue
			}
			if v, _ := Get(r.Body, "properties.logAnalyticsDestinationType"); v != "Dedicated" {
				return fmt.Errorf("destination type %v: AGWFirewallLogs needs Dedicated", v)
			}
			for _, l := range asList(mustGet(r.Body, "properties.logs")) {
				m, _ := l.(map[string]any)
				if (m["categoryGroup"] == "allLogs" || m["category"] == "ApplicationGatewayFirewallLog") && m["enabled"] == true {
					return nil
				}
			}
			return fmt.Errorf("the firewall log is not sent")
		}
		return fmt.Errorf("no diagnostic setting on the gateway")
	}, "logAnalyticsDestinationType: 'Dedicated'", "logAnalyticsDestinationType: 'AzureDiagnostics'"},
	{"alerts: WAF blocks and security events e-mail the security contacts", "modules/alerts.bicep", func(f *File) error {
		groups := resourcesOf(f, "Microsoft.Insights/actionGroups")
		if len(groups) != 1 {
			return fmt.Errorf("%d action groups", len(groups))
		}
		rs := resourcesOf(f, "Microsoft.Insights/scheduledQueryRules")
		if len(rs) < 2 {
			return fmt.Errorf("%d scheduled-query rules", len(rs))
		}
		for _, r := range rs {
			if ag := fmt.Sprint(mustGet(r.Body, "properties.actions.actionGroups")); !strings.Contains(ag, groups[0].Symbol+".id") {
				return fmt.Errorf("rule %s does not notify the action group: %s", r.Symbol, ag)
			}
		}
		return nil
	}, "        securityContacts.id\n      ]\n    }\n  }\n}\n", "      ]\n    }\n  }\n}\n"},
	{"alerts: scheduled queries on every security-event kind the timer thresholds, and on raised alerts", "modules/alerts.bicep", func(f *File) error {
		src := string(f.Src)
		for _, w := range []string{`"msg":"security event"`, `"msg":"security alert"`, `"signin-refused"`, `"cloud-metadata"`, `"inbound-email-refused"`, `"webhook-secret-wrong"`} {
			if !strings.Contains(src, w) {
				return fmt.Errorf("no security alert query on %s", w)
			}
		}
		return nil
	}, `"cloud-metadata"`, `"metadata"`},
	{"main: subscription scope with the azd-env-name tag", "main.bicep", func(f *File) error {
		if !strings.Contains(string(f.Src), "targetScope = 'subscription'") {
			return fmt.Errorf("main.bicep is not at subscription scope")
		}
		if tags, _ := f.Vars["tags"].(map[string]any); tags == nil || tags["azd-env-name"] == nil {
			return fmt.Errorf("no azd-env-name tag")
		}
		return nil
	}, "'azd-env-name': environmentName", "'env-name': environmentName"},
}

// roleOn checks that roles.bicep maps key to the built-in role guid and
// assigns it to the app's identity on the resource symbol.
func roleOn(symbol, key, guid string) func(f *File) error {
	return func(f *File) error {
		if roles, _ := f.Vars["roles"].(map[string]any); fmt.Sprint(roles[key]) != guid {
			return fmt.Errorf("roles.%s is %v, want %s", key, roles[key], guid)
		}
		for _, r := range resourcesOf(f, "Microsoft.Authorization/roleAssignments") {
			scope, _ := r.Body["scope"].(Expr)
			def, _ := Get(r.Body, "properties.roleDefinitionId")
			who, _ := Get(r.Body, "properties.principalId")
			if scope.Text == symbol && strings.Contains(fmt.Sprint(def), "roles."+key+")") && fmt.Sprint(who) == fmt.Sprint(Expr{"principalId"}) {
				return nil
			}
		}
		return fmt.Errorf("no %s assignment for the app's identity scoped to %s", key, symbol)
	}
}

func diagnosticsOn(symbol string) func(f *File) error {
	return func(f *File) error {
		for _, r := range resourcesOf(f, "Microsoft.Insights/diagnosticSettings") {
			if s, ok := r.Body["scope"].(Expr); ok && s.Text == symbol {
				return nil
			}
		}
		return fmt.Errorf("no diagnostic setting scoped to %s", symbol)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestPolicies: each secure default holds on the templates, and each fails
// when the template is mutated to break it (shown by applying the mutation
// to an in-memory copy).
func TestPolicies(t *testing.T) { checkRules(t, rules) }

// checkRules runs each rule on its file, then on its mutation.
func checkRules(t *testing.T, rules []rule) {
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			f := parsed(t, r.file)
			if err := r.check(f); err != nil {
				t.Fatalf("the rule does not hold: %v", err)
			}
			src := string(f.Src)
			if !strings.Contains(src, r.mutateOld) {
				t.Fatalf("mutation anchor %q not found in %s", r.mutateOld, r.file)
			}
			broken := ParseSource(r.file+" (mutated)", []byte(strings.Replace(src, r.mutateOld, r.mutateNew, 1)))
			err := r.check(broken)
			if err == nil {
				t.Fatalf("the rule still holds after the mutation %q -> %q", r.mutateOld, r.mutateNew)
			}
			t.Logf("mutated: %v", err)
		})
	}
	t.Logf("%d policy rules, each shown to fail on a mutation", len(rules))
}

// TestNoSecretsInTemplates: no key, connection string or password literal
// in any template, parameter file or azure.yaml.
func TestNoSecretsInTemplates(t *testing.T) {
	bad := regexp.MustCompile(`(?i)(AccountKey=|SharedAccessKey|listKeys\(|connectionString\s*[:=]\s*'|password\s*:\s*'[^']+'|DefaultEndpointsProtocol=)`)
	files := append(bicepFiles(t), "main.parameters.json", "../azure.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := bad.Find(b); m != nil {
			t.Errorf("%s contains %q", p, m)
		}
	}
	if bad.Find([]byte("x: listKeys(st.id, '2023-05-01').keys[0].value")) == nil {
		t.Fatal("the secret pattern misses listKeys")
	}
}

// appSettings reads the Function App's app settings from functionapp.bicep.
func appSettings(t *testing.T) map[string]any {
	t.Helper()
	f := parsed(t, "modules/functionapp.bicep")
	sites := resourcesOf(f, "Microsoft.Web/sites")
	if len(sites) != 1 {
		t.Fatalf("%d sites", len(sites))
	}
	list, _ := Get(sites[0].Body, "properties.siteConfig.appSettings")
	out := map[string]any{}
	for _, s := range asList(list) {
		m := s.(map[string]any)
		out[fmt.Sprint(m["name"])] = m["value"]
	}
	return out
}

// TestSettingsAndFunctionsConsistency: every setting the handler reads in
// Azure is an app setting, no local-only one is; every function folder has
// its AzureWebJobs.<Name>.Disabled setting (dev-only and local-queue
// functions disabled); every queue trigger's queue is created by the storage
// module, every Service Bus trigger's queue by the Service Bus module.
func TestSettingsAndFunctionsConsistency(t *testing.T) {
	got := appSettings(t)
	for _, s := range settings.Catalogue() {
		_, present := got[s.Name]
		switch s.Where {
		case "azure", "both":
			if !present {
				t.Errorf("setting %s (read by the handler in Azure) is not an app setting", s.Name)
			}
		case "local", "platform":
			if present {
				t.Errorf("setting %s is %s-only but is an app setting", s.Name, s.Where)
			}
		}
	}
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	main := parsed(t, "main.bicep")
	queues := asList(main.Vars["storageQueues"])
	sb := string(parsed(t, "modules/servicebus.bicep").Src)
	for _, fn := range app.Functions {
		v, ok := got["AzureWebJobs."+fn.Name+".Disabled"]
		if !ok {
			t.Errorf("function %s has no AzureWebJobs.%s.Disabled app setting", fn.Name, fn.Name)
			continue
		}
		wantDisabled := strings.HasPrefix(fn.Name, "Dev")
		if (v == "true") != wantDisabled {
			t.Errorf("AzureWebJobs.%s.Disabled = %v, want %v", fn.Name, v, wantDisabled)
		}
		switch fn.Kind {
		case manifest.QueueTrigger:
			if !slices.Contains(queues, any(fn.Queue)) {
				t.Errorf("queue %s of %s is not created by the storage module", fn.Queue, fn.Name)
			}
		case manifest.ServiceBusTrigger:
			if !strings.Contains(sb, "name: '"+fn.Queue+"'") {
				t.Errorf("Service Bus queue %s of %s is not created", fn.Queue, fn.Name)
			}
		}
	}
}

// TestStorageLayoutMatchesCode: the tables and containers infra creates are
// exactly those the handler bootstraps.
func TestStorageLayoutMatchesCode(t *testing.T) {
	main := parsed(t, "main.bicep")
	var tables, containers []string
	for _, v := range asList(main.Vars["storageTables"]) {
		tables = append(tables, fmt.Sprint(v))
	}
	for _, v := range asList(main.Vars["storageContainers"]) {
		containers = append(containers, fmt.Sprint(v))
	}
	var codeTables, codeContainers []string
	for _, l := range app.StorageLayouts() {
		codeTables = append(codeTables, l.Tables...)
		codeContainers = append(codeContainers, l.Containers...)
	}
	for _, s := range [][]string{tables, containers, codeTables, codeContainers} {
		sort.Strings(s)
	}
	if fmt.Sprint(tables) != fmt.Sprint(codeTables) {
		t.Errorf("infra tables %v, code tables %v", tables, codeTables)
	}
	if fmt.Sprint(containers) != fmt.Sprint(codeContainers) {
		t.Errorf("infra containers %v, code containers %v", containers, codeContainers)
	}
}

// TestAzureYAML: azd packages with make package and deploys dist/ to the
// Function App tagged azd-service-name api.
func TestAzureYAML(t *testing.T) {
	b, err := os.ReadFile("../azure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"host: function", "dist: dist", "run: make package", "path: infra", "module: main"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("azure.yaml lacks %q", w)
		}
	}
	if !strings.Contains(string(parsed(t, "modules/functionapp.bicep").Src), "'azd-service-name': 'api'") {
		t.Error("the Function App is not tagged azd-service-name: api")
	}
	var params map[string]any
	pb, _ := os.ReadFile("main.parameters.json")
	if err := json.Unmarshal(pb, &params); err != nil {
		t.Fatalf("main.parameters.json: %v", err)
	}
}

// TestSecretsAreKeyVaultReferences: every password, key and secret the
// handler reads is a Key Vault reference in the app settings (never a
// value), resolved with the app's user-assigned identity, which holds Key
// Vault Secrets User on the vault.
func TestSecretsAreKeyVaultReferences(t *testing.T) {
	got := appSettings(t)
	n := 0
	for _, s := range settings.Catalogue() {
		if !regexp.MustCompile(`(PASSWORD|_KEYS|_SECRET)$`).MatchString(s.Name) || (s.Where != "azure" && s.Where != "both") {
			continue
		}
		n++
		if v := fmt.Sprint(got[s.Name]); !strings.Contains(v, "@Microsoft.KeyVault(") {
			t.Errorf("%s = %s, want a Key Vault reference", s.Name, v)
		}
	}
	if n < 5 {
		t.Fatalf("only %d secret settings found", n)
	}
	site := resourcesOf(parsed(t, "modules/functionapp.bicep"), "Microsoft.Web/sites")[0]
	if v, ok := Get(site.Body, "properties.keyVaultReferenceIdentity"); !ok || fmt.Sprint(v) == "" {
		t.Error("the Function App resolves Key Vault references with its system identity, which it does not have: set keyVaultReferenceIdentity")
	}
	if !strings.Contains(string(parsed(t, "modules/roles.bicep").Src), "roles.keyVaultSecretsUser") {
		t.Error("the app identity has no Key Vault Secrets User role")
	}
}

func mustGet(m map[string]any, path string) any { v, _ := Get(m, path); return v }

// defenderPlans: the four plans the service's resources need, at
// subscription scope, each on the tier the parameter chooses.
func defenderPlans(f *File) error {
	if !strings.Contains(string(f.Src), "targetScope = 'subscription'") {
		return fmt.Errorf("%s is not at subscription scope (pricings are per subscription)", f.Path)
	}
	got := map[string]bool{}
	for _, r := range resourcesOf(f, "Microsoft.Security/pricings") {
		if tier, _ := Get(r.Body, "properties.pricingTier"); fmt.Sprint(tier) != fmt.Sprint(Expr{"tier"}) {
			return fmt.Errorf("plan %s: pricingTier %v", r.Symbol, tier)
		}
		got[fmt.Sprint(r.Body["name"])] = true
	}
	for _, p := range []string{"AppServices", "StorageAccounts", "KeyVaults", "Arm"} {
		if !got[p] {
			return fmt.Errorf("no Defender plan %s (have %v)", p, got)
		}
	}
	return nil
}

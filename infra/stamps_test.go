package infra

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/stamp"
)

// stampRules are the rules of issue 22 ("Regions and stamps"): with any
// number of regions no customer data path is reachable in two stamps at
// once (every stamp runs the home check against one declared directory,
// and a customer's own host name has one enabled endpoint, its home), and
// storage is geo-redundant wherever a standby is declared.
var stampRules = []rule{
	{"directory: one global RA-GZRS account with the secure defaults", "modules/directory.bicep", all(
		want("Microsoft.Storage/storageAccounts", "sku.name", "Standard_RAGZRS"),
		want("Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "TLS1_2"),
		want("Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", false),
		want("Microsoft.Storage/storageAccounts", "properties.supportsHttpsTrafficOnly", true),
		want("Microsoft.Storage/storageAccounts", "properties.publicNetworkAccess", "Disabled"),
		want("Microsoft.Storage/storageAccounts", "properties.encryption.requireInfrastructureEncryption", true)),
		"name: 'Standard_RAGZRS'", "name: 'Standard_LRS'"},
	{"directory: its table is the one shared/stamp reads", "modules/directory.bicep",
		want("Microsoft.Storage/storageAccounts/tableServices/tables", "name", stamp.TableName), "name: 'directory'", "name: 'homes'"},
	{"directory: each stamp may use the directory table only (Storage Table Data Contributor)", "modules/directoryaccess.bicep", func(f *File) error {
		if f.Vars["storageTableDataContributor"] != "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3" {
			return fmt.Errorf("not the Storage Table Data Contributor role: %v", f.Vars["storageTableDataContributor"])
		}
		ras := resourcesOf(f, "Microsoft.Authorization/roleAssignments")
		if len(ras) != 1 {
			return fmt.Errorf("%d role assignments, want 1", len(ras))
		}
		scope, _ := ras[0].Body["scope"].(Expr)
		for _, r := range f.Resources {
			if r.Existing && r.Symbol == scope.Text && strings.EqualFold(r.Type, "Microsoft.Storage/storageAccounts/tableServices/tables") {
				return nil
			}
		}
		return fmt.Errorf("the role is scoped to %q, not to the directory table", scope.Text)
	}, "scope: directoryTable", "scope: account"},
	{"every stamp runs the home check: its name, every stamp's URL, the directory", "modules/functionapp.bicep", func(f *File) error {
		got := settingsOf(f)
		for name, v := range map[string]string{"COLLAB_STAMP": "stamp.name", "COLLAB_STAMP_URLS": "stamp.urls",
			"COLLAB_DIRECTORY_TABLE_URI": "stamp.directoryTableUri", "COLLAB_DEDICATED_SUBSCRIPTION": "stamp.dedicatedSubscription",
			// e-mailed links (invitations) reach the stamp that sent them, the customer's home
			"COLLAB_PUBLIC_URL": "stamp.publicUrl",
			// task replies come back to the stamp that holds the task
			"COLLAB_EMAIL_REPLY_DOMAIN": "stamp.replyDomain"} {
			if e, ok := got[name].(Expr); !ok || e.Text != v {
				return fmt.Errorf("%s = %v, want %s", name, got[name], v)
			}
		}
		return nil
	}, "value: stamp.name }", "value: '' }"},
	{"every stamp module in main is given a unique name, the stamp URLs and the directory", "main.bicep", func(f *File) error {
		src := string(f.Src)
		modules := len(regexp.MustCompile(`(?m)^module \w+ 'modules/stamp.bicep'`).FindAllString(src, -1))
		if modules != 2 {
			return fmt.Errorf("%d stamp module declarations, want the shared and the dedicated loop", modules)
		}
		for _, w := range []string{"urls: stampUrlSetting", "directoryTableUri: directory.outputs.tableEndpoint", "directoryId: directory.outputs.id"} {
			if n := strings.Count(src, w); n != modules {
				return fmt.Errorf("%q is given to %d of %d stamp modules", w, n, modules)
			}
		}
		// Shared stamps are named after their (distinct) region, dedicated
		// ones "ded-<subscription>": two stamps never share a name, so the
		// directory never names two homes.
		if !strings.Contains(src, "stamp: {\n      name: region\n") || !strings.Contains(src, "stamp: {\n      name: 'ded-${c.subscription}'\n") {
			return fmt.Errorf("stamps are not named by region and by dedicated customer")
		}
		return nil
	}, "      directoryTableUri: directory.outputs.tableEndpoint\n", "      directoryTableUri: ''\n"},
	{"Performance routing of the service name only with the home check on every stamp", "main.bicep", func(f *File) error {
		src := string(f.Src)
		if strings.Contains(src, "param trafficRoutingMethod string = 'Performance'") && !strings.Contains(src, "module directory 'modules/directory.bicep' = {") {
			return fmt.Errorf("Performance routing without an unconditional directory: a customer's data could be served by two stamps")
		}
		return nil
	}, "module directory 'modules/directory.bicep' = {", "module directory 'modules/directory.bicep' = if (length(regions) > 1) {"},
	{"a customer's own host name goes to its home only: Priority, one enabled endpoint", "modules/homerouting.bicep", func(f *File) error {
		if err := want("Microsoft.Network/trafficmanagerprofiles", "properties.trafficRoutingMethod", "Priority")(f); err != nil {
			return err
		}
		for _, r := range resourcesOf(f, "Microsoft.Network/trafficmanagerprofiles") {
			eps, _ := Get(r.Body, "properties.endpoints")
			enabled := 0
			for _, e := range asList(eps) {
				if v, _ := Get(e.(map[string]any), "properties.endpointStatus"); v == "Enabled" {
					enabled++
				}
			}
			if enabled != 1 {
				return fmt.Errorf("profile %s has %d enabled endpoints, want the home only", r.Symbol, enabled)
			}
		}
		return nil
	}, "trafficRoutingMethod: 'Priority'", "trafficRoutingMethod: 'Performance'"},
	{"a dedicated customer's stamp is told whom it serves", "main.bicep", func(f *File) error {
		if !strings.Contains(string(f.Src), "origins: consoleOrigins\n      dedicatedSubscription: c.subscription\n") {
			return fmt.Errorf("the dedicated stamps are not given their customer")
		}
		return nil
	}, "origins: consoleOrigins\n      dedicatedSubscription: c.subscription\n", "origins: consoleOrigins\n      dedicatedSubscription: ''\n"},
	{"storage is geo-redundant (RA-GZRS) where a standby is declared", "modules/stamp.bicep", func(f *File) error {
		if !strings.Contains(string(f.Src), "skuName: stamp.geoRedundant ? 'Standard_RAGZRS' : 'Standard_ZRS'") {
			return fmt.Errorf("the storage SKU does not follow the standby declaration")
		}
		return nil
	}, "? 'Standard_RAGZRS'", "? 'Standard_ZRS'"},
	{"a standby is declared per stamp region for shared and dedicated stamps", "main.bicep", func(f *File) error {
		src := string(f.Src)
		if !strings.Contains(src, "geoRedundant: contains(standbyRegions, region)") || !strings.Contains(src, "geoRedundant: contains(standbyRegions, c.home)") {
			return fmt.Errorf("geoRedundant does not follow standbyRegions for every stamp")
		}
		return nil
	}, "geoRedundant: contains(standbyRegions, c.home)", "geoRedundant: false"},
	{"the storage module takes its SKU from the stamp", "modules/storage.bicep",
		want("Microsoft.Storage/storageAccounts", "sku.name", Expr{Text: "skuName"}), "    name: skuName", "    name: 'Standard_ZRS'"},
}

func TestStampPolicies(t *testing.T) { checkRules(t, stampRules) }

// settingsOf reads the app settings of the sites in f.
func settingsOf(f *File) map[string]any {
	out := map[string]any{}
	for _, r := range resourcesOf(f, "Microsoft.Web/sites") {
		list, _ := Get(r.Body, "properties.siteConfig.appSettings")
		for _, s := range asList(list) {
			if m, ok := s.(map[string]any); ok {
				out[fmt.Sprint(m["name"])] = m["value"]
			}
		}
	}
	return out
}

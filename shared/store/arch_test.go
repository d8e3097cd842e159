package store

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// azureAllowed are the packages under shared/ that may depend on the Azure
// SDK (github.com/Azure/...), each for a reason of its own: the store driver,
// and the adapters that talk to an Azure service by nature. identity's token
// verification is allowed too by issue 20 but needs no Azure package today,
// so it is not listed: a new dependency there should be a decision.
var azureAllowed = map[string]string{
	"shared/store/azure":        "the one store driver: Tables, Blobs, Queues",
	"shared/deploy/messaging":   "the Service Bus adapter",
	"shared/deploy/portal":      "the ARM adapter",
	"shared/envconfig/keyvault": "the Key Vault adapter",
}

const module = "github.com/studio-collab/collab/"

// TestDomainPackagesAreFreeOfTheAzureSDK: no package under shared/ but the
// allowed ones depends on github.com/Azure/..., directly or through another
// package: domain code sees the portable store only (issue 20).
func TestDomainPackagesAreFreeOfTheAzureSDK(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"shared/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		checked++
		if _, ok := azureAllowed[pkg]; ok {
			continue
		}
		var azure []string
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, "github.com/Azure/") {
				azure = append(azure, d)
			}
		}
		if len(azure) > 0 {
			t.Errorf("%s depends on %d Azure SDK packages (e.g. %s): import the portable store (shared/store), not the driver", pkg, len(azure), azure[0])
		}
	}
	if checked < 20 {
		t.Fatalf("go list reported %d packages under shared/; the check would prove nothing", checked)
	}
	for pkg := range azureAllowed {
		if !strings.Contains(string(out), module+pkg+" ") {
			t.Errorf("allowed package %s is not listed by go list (renamed? drop it from azureAllowed)", pkg)
		}
	}
}

// TestOneTableInterface: the table interface is declared once, here;
// domain packages use store.Table instead of declaring their own subset.
func TestOneTableInterface(t *testing.T) {
	root := filepath.Join("..", "..")
	decl := regexp.MustCompile(`(?m)^type Table interface\b`)
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if decl.Match(b) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0] != filepath.Join(root, "shared", "store", "table.go") {
		t.Fatalf("type Table interface is declared in %v; want shared/store/table.go only", found)
	}
}

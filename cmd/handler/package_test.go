package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMakePackageLayout runs `make package` into a temporary folder and
// checks the layout the Functions host and azd expect (DESIGN §2): host.json,
// one top-level folder per function with its function.json, and a static
// linux/amd64 handler at host.json's defaultExecutablePath.
func TestMakePackageLayout(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required")
	}
	root, _ := filepath.Abs("../..")
	dist := t.TempDir()
	out, err := exec.Command("make", "-C", root, "package", "DIST="+dist).CombinedOutput()
	if err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
	}
	b, err := os.ReadFile(filepath.Join(dist, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &host); err != nil {
		t.Fatal(err)
	}
	if !host.CustomHandler.EnableForwardingHTTPRequest {
		t.Error("host.json: enableForwardingHttpRequest must be true")
	}
	srcFuncs, _ := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if len(srcFuncs) == 0 {
		t.Fatal("no functions/*/function.json in the repository")
	}
	for _, f := range srcFuncs {
		name := filepath.Base(filepath.Dir(f))
		if _, err := os.Stat(filepath.Join(dist, name, "function.json")); err != nil {
			t.Errorf("function %s missing from the package: %v", name, err)
		}
	}
	bin := filepath.Join(dist, host.CustomHandler.Description.DefaultExecutablePath)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("handler binary at %s: %v", bin, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("handler is %v/%v, want linux amd64", f.Machine, f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("handler is dynamically linked; CGO_ENABLED=0 must give a static binary")
		}
	}
	if st, _ := os.Stat(bin); st.Mode()&0o111 == 0 {
		t.Error("handler is not executable")
	}
	entries, _ := os.ReadDir(dist)
	if len(entries) != len(srcFuncs)+2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("unexpected entries in the package: %v", names)
	}
}

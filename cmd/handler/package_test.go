package main

import (
	"archive/zip"
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
// linux/amd64 handler at host.json's defaultExecutablePath; and the zip zip
// deploy uploads, read back: the same files, the handler executable inside.
func TestMakePackageLayout(t *testing.T) {
	t.Parallel()
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
	checkPackageZip(t, dist, host.CustomHandler.Description.DefaultExecutablePath)
	entries, _ := os.ReadDir(dist)
	if len(entries) != len(srcFuncs)+2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("unexpected entries in the package: %v", names)
	}
}

// checkPackageZip reads <dist>.zip: every file of dist is in it with the
// same content length, and the handler's entry has its executable bits (the
// platform's unzip restores the mode from the entry's external attributes;
// without them the host cannot start the handler on Flex).
func checkPackageZip(t *testing.T, dist, exe string) {
	t.Helper()
	zr, err := zip.OpenReader(dist + ".zip")
	if err != nil {
		t.Fatalf("the package zip: %v", err)
	}
	defer zr.Close()
	inZip := map[string]*zip.File{}
	for _, f := range zr.File {
		inZip[f.Name] = f
	}
	err = filepath.WalkDir(dist, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dist, path)
		f, ok := inZip[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s is in %s but not in the zip", rel, dist)
			return nil
		}
		if st, _ := d.Info(); int64(f.UncompressedSize64) != st.Size() {
			t.Errorf("%s: %d bytes in the zip, %d on disk", rel, f.UncompressedSize64, st.Size())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := inZip[exe]
	if !ok {
		t.Fatalf("no %s entry in the zip", exe)
	}
	if h.Mode()&0o111 != 0o111 || h.CreatorVersion>>8 != 3 { // 3: Unix, so the mode is read
		t.Errorf("handler entry mode %v (creator %d): not executable for the host", h.Mode(), h.CreatorVersion>>8)
	}
	if f := inZip["host.json"]; f == nil || f.Mode()&0o111 != 0 {
		t.Errorf("host.json entry: %v", f)
	}
}

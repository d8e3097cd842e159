// Command appzip writes the zip that zip deploy (Flex Consumption "one
// deploy", az functionapp deployment source config-zip) uploads: the folder
// `make package` assembled, with Unix modes kept and the custom handler at
// host.json's defaultExecutablePath marked executable whatever the file
// system said.
//
// Why a tool and not `zip -r`: the host starts the handler with exec and
// does not chmod it on every plan (azure-functions-host
// src/WebJobs.Script/Workers/Http/HttpWorkerProcess.cs calls
// AssignUserExecutePermissionsIfNotExists only when IsLinuxConsumption;
// Flex custom handlers fail without the bit:
// microsoft/vscode-azurefunctions#4497, Azure/functions-action#274), and
// Info-ZIP is not installed everywhere the Makefile runs. archive/zip keeps
// the mode in the entry's external attributes (FileInfoHeader), which is
// what the platform's unzip reads.
package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir := flag.String("dir", "dist", "the package folder (host.json at its root)")
	out := flag.String("out", "dist.zip", "the zip to write (outside -dir)")
	flag.Parse()
	if err := write(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "appzip:", err)
		os.Exit(1)
	}
}

// epoch is every entry's time, so that the same input gives the same zip.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func write(dir, out string) (err error) {
	exe, err := handlerPath(filepath.Join(dir, "host.json"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(exe))); err != nil {
		return fmt.Errorf("the handler host.json names is not in the package: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return fmt.Errorf("%s: only files and folders go into the package", rel)
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, h.Modified = filepath.ToSlash(rel), epoch
		switch {
		case info.IsDir():
			h.Name += "/"
			h.SetMode(fs.ModeDir | 0o755)
		case h.Name == exe:
			h.SetMode(0o755)
			h.Method = zip.Deflate
		default:
			h.SetMode(info.Mode().Perm() | 0o644)
			h.Method = zip.Deflate
		}
		w, err := zw.CreateHeader(h)
		if err != nil || info.IsDir() {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// handlerPath reads customHandler.description.defaultExecutablePath.
func handlerPath(hostJSON string) (string, error) {
	b, err := os.ReadFile(hostJSON)
	if err != nil {
		return "", err
	}
	var h struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("%s: %w", hostJSON, err)
	}
	if h.CustomHandler.Description.DefaultExecutablePath == "" {
		return "", errors.New(hostJSON + ": no customHandler.description.defaultExecutablePath")
	}
	return filepath.ToSlash(filepath.Clean(h.CustomHandler.Description.DefaultExecutablePath)), nil
}

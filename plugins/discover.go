package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// BinaryPrefix starts the file name of every plugin binary Discover finds:
// hive-agent-<type> offers agent type <type>.
const BinaryPrefix = "hive-agent-"

// Discover finds the plugin binaries in dir: executable regular files (or
// links to them) named hive-agent-<type>, where <type> is a valid agent
// type name (on Windows, with ".exe"). It returns the absolute path of
// each by agent type. Other files are ignored.
func Discover(dir string) (map[string]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("plugin dir: %w", err)
	}
	found := make(map[string]string)
	for _, e := range entries {
		name := e.Name()
		if runtime.GOOS == "windows" {
			var ok bool
			if name, ok = strings.CutSuffix(strings.ToLower(name), ".exe"); !ok {
				continue
			}
		}
		typ, ok := strings.CutPrefix(name, BinaryPrefix)
		if !ok || ValidTypeName(typ) != nil {
			continue
		}
		path := filepath.Join(abs, e.Name())
		fi, err := os.Stat(path) // follows links
		if err != nil || !fi.Mode().IsRegular() || (runtime.GOOS != "windows" && fi.Mode()&0o111 == 0) {
			continue
		}
		found[typ] = path
	}
	return found, nil
}

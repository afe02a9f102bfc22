// Package plugintest builds plugin binaries for the tests of the plugin
// packages, the way users build them: with go build, into a temporary
// directory, once per binary.
package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The packages of the built-in agents.
const (
	TestAgent  = "github.com/hive-swarm/hive/agents/test"
	ShellAgent = "github.com/hive-swarm/hive/agents/shell"
)

// Builder builds binaries into one temporary directory, each once.
type Builder struct {
	dir string

	mu    sync.Mutex
	built map[string]*build
}

type build struct {
	once sync.Once
	path string
	err  error
}

// NewBuilder makes the directory the binaries go to; Close removes it.
func NewBuilder() (*Builder, error) {
	dir, err := os.MkdirTemp("", "hive-plugin-test-")
	if err != nil {
		return nil, err
	}
	return &Builder{dir: dir, built: map[string]*build{}}, nil
}

// Dir is where the binaries go.
func (b *Builder) Dir() string { return b.dir }

// Close removes the binaries.
func (b *Builder) Close() error { return os.RemoveAll(b.dir) }

// Package builds the Go package pkg (an import path of this module) as
// the binary name, once, and returns its path.
func (b *Builder) Package(pkg, name string) (string, error) {
	return b.once(name, func(out string) (string, []string) {
		return "", []string{"build", "-o", out, pkg}
	})
}

// Module builds the main package of the Go module in dir (with its own
// go.mod, as an outside author builds it) as the binary name, once.
func (b *Builder) Module(dir, name string) (string, error) {
	return b.once(name, func(out string) (string, []string) {
		return dir, []string{"build", "-o", out, "."}
	})
}

func (b *Builder) once(name string, args func(out string) (dir string, argv []string)) (string, error) {
	b.mu.Lock()
	bd, ok := b.built[name]
	if !ok {
		bd = &build{}
		b.built[name] = bd
	}
	b.mu.Unlock()
	bd.once.Do(func() {
		out := filepath.Join(b.dir, name)
		dir, argv := args(out)
		cmd := exec.Command(goTool(), argv...)
		cmd.Dir = dir
		if msg, err := cmd.CombinedOutput(); err != nil {
			bd.err = fmt.Errorf("go %s: %w\n%s", strings.Join(argv, " "), err, msg)
			return
		}
		bd.path = out
	})
	return bd.path, bd.err
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

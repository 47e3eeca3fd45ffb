// Package deploy_test checks the files in deploy/ with the programs that read them: haproxy runs
// deploy/haproxy.cfg in front of two real nodes on PostgreSQL (lb_test.go), nginx -t and
// systemd-analyze verify read the nginx configuration and the systemd units (configs_test.go).
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	testkit.RemoveBinary()
	os.Exit(code)
}

// findTool finds a program on PATH, else in the sbin directories where Debian puts haproxy and
// nginx (often not on a user's PATH). "" when it is nowhere.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// cleanEnv is the test's environment without HOTLINE_* (a developer's own settings must not reach
// haproxy's configuration), plus env.
func cleanEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOTLINE_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

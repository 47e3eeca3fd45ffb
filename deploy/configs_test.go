package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nginxMain writes, in a new temporary prefix, an nginx.conf whose http block includes conf, as
// Debian's nginx.conf includes conf.d/*.conf, with the pid file, logs and temporary files in the
// prefix: nothing outside it is read or written but conf. It returns the prefix and the file.
func nginxMain(t *testing.T, conf string) (prefix, main string) {
	t.Helper()
	conf, err := filepath.Abs(conf)
	if err != nil {
		t.Fatal(err)
	}
	prefix = t.TempDir()
	text := `pid ` + prefix + `/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path ` + prefix + `/body;
    proxy_temp_path ` + prefix + `/proxy;
    fastcgi_temp_path ` + prefix + `/fastcgi;
    uwsgi_temp_path ` + prefix + `/uwsgi;
    scgi_temp_path ` + prefix + `/scgi;
    include ` + conf + `;
}
`
	main = filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(main, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return prefix, main
}

// TestNginxConfig has nginx check deploy/nginx.conf (nginx -t), included in the http block.
func TestNginxConfig(t *testing.T) {
	bin := findTool("nginx")
	if bin == "" {
		t.Skip("nginx not installed: apt-get install -y nginx (scripts/test.sh does it)")
	}
	prefix, main := nginxMain(t, "nginx.conf")
	out, err := exec.Command(bin, "-t", "-e", "stderr", "-p", prefix+"/", "-c", main).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("test is successful")) {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("[warn]")) || bytes.Contains(out, []byte("[emerg]")) {
		t.Errorf("nginx -t warns:\n%s", out)
	}
}

// unitDirs are where the host's own systemd units are (the targets a unit's dependencies name).
var unitDirs = []string{"/usr/lib/systemd/system", "/lib/systemd/system"}

// TestSystemdUnits checks deploy/systemd/hotline@.service (as an instance) and
// deploy/hotline.service with systemd-analyze verify, in a root of their own holding the host's
// units and a stand-in /usr/local/bin/hotline: any complaint fails, an unknown key or a bad value
// too (systemd-analyze only warns about those). The template's hardening is held to an exposure
// of 2.0 at most (systemd-analyze security), and its stop timeout to more than the drain of the
// example environment file plus the 10 s the node then has to finish.
func TestSystemdUnits(t *testing.T) {
	bin := findTool("systemd-analyze")
	if bin == "" {
		t.Skip("systemd-analyze not found (Debian's systemd package)")
	}
	root := t.TempDir()
	var hostUnits string
	for _, d := range unitDirs {
		if fi, err := os.Stat(filepath.Join(d, "sysinit.target")); err == nil && fi.Mode().IsRegular() {
			hostUnits = d
			break
		}
	}
	if hostUnits == "" {
		t.Fatalf("systemd-analyze is installed but no sysinit.target in %v", unitDirs)
	}
	copyDir(t, hostUnits, filepath.Join(root, "usr/lib/systemd/system"))
	etc := filepath.Join(root, "etc/systemd/system")
	for src, dst := range map[string]string{"systemd/hotline@.service": "hotline@.service", "hotline.service": "hotline.service"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(etc, dst), b, 0o644)
	}
	writeFile(t, filepath.Join(root, "usr/local/bin/hotline"), []byte("#!/bin/sh\n"), 0o755)

	for _, unit := range []string{"hotline@a.service", "hotline.service"} {
		cmd := exec.Command(bin, "verify", "--root="+root, "--man=no", unit)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
	cmd := exec.Command(bin, "security", "--offline=yes", "--root="+root, "--threshold=20", "--no-pager", "hotline@a.service")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security hotline@a.service: %v (exposure above 2.0?)\n%s", err, out)
	}

	unit := readUnit(t, "systemd/hotline@.service")
	for key, want := range map[string]string{
		"Unit.After":              "network-online.target",
		"Unit.Wants":              "network-online.target",
		"Service.EnvironmentFile": "/etc/hotline/%i.env",
		"Service.Restart":         "on-failure",
		"Service.KillSignal":      "SIGTERM",
		"Service.NoNewPrivileges": "true",
		"Service.ProtectSystem":   "strict",
	} {
		if !strings.Contains(" "+unit[key]+" ", " "+want+" ") {
			t.Errorf("hotline@.service: %s=%q, want %s", key, unit[key], want)
		}
	}
	stop, err := time.ParseDuration(unit["Service.TimeoutStopSec"])
	if err != nil {
		t.Fatalf("hotline@.service: TimeoutStopSec=%q: %v", unit["Service.TimeoutStopSec"], err)
	}
	env := readUnit(t, "systemd/example.env")
	drain, err := time.ParseDuration(env[".HOTLINE_DRAIN"])
	if err != nil {
		t.Fatalf("example.env: HOTLINE_DRAIN=%q: %v", env[".HOTLINE_DRAIN"], err)
	}
	if stop <= drain+10*time.Second {
		t.Errorf("TimeoutStopSec=%v, not above the drain (%v) and the 10 s that follow: systemd would kill a draining node", stop, drain)
	}
	for _, key := range []string{"HOTLINE_DATABASE", "HOTLINE_TRUSTED_PROXIES", "HOTLINE_ADDR"} {
		if env["."+key] == "" {
			t.Errorf("example.env sets no %s", key)
		}
	}
}

// readUnit reads a unit (or an environment file) into "Section.Key" → value, the values of a key
// given more than once joined by spaces; keys before any section are ".Key".
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q", path, line)
			}
			key := section + "." + strings.TrimSpace(k)
			out[key] = strings.TrimSpace(out[key] + " " + strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the regular files and symbolic links of a directory tree.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			return os.MkdirAll(to, 0o755)
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

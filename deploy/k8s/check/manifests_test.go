// Package check holds the manifests in deploy/k8s to the Kubernetes API's own types, with no
// cluster and no network: every document of every *.yaml there must decode strictly (an unknown
// or misspelled field, a duplicate key, a wrong type fails) into the type its apiVersion and kind
// name, and the essentials of running hotline are asserted on top. It is a module of its own so
// that the hotline module does not depend on the Kubernetes API:
//
//	cd deploy/k8s/check && go test ./...
package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifestDir is deploy/k8s, seen from this package's directory.
const manifestDir = ".."

// types are the kinds the manifests may hold, by "apiVersion kind".
var types = map[string]func() any{
	"apps/v1 Deployment":                     func() any { return &appsv1.Deployment{} },
	"v1 Service":                             func() any { return &corev1.Service{} },
	"networking.k8s.io/v1 Ingress":           func() any { return &networkingv1.Ingress{} },
	"policy/v1 PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2 HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"v1 ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"networking.k8s.io/v1 NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decode decodes one YAML document strictly into the type of its apiVersion and kind.
func decode(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	mk := types[tm.APIVersion+" "+tm.Kind]
	if mk == nil {
		return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests are checked as", tm.APIVersion, tm.Kind)
	}
	obj := mk()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// manifests are the objects of every *.yaml and *.yml in deploy/k8s.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	ingresses   []*networkingv1.Ingress
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

func load(t *testing.T) manifests {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(manifestDir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no manifests in %s", manifestDir)
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if isEmpty(doc) {
				continue
			}
			obj, err := decode([]byte(doc))
			if err != nil {
				t.Errorf("%s, document %d: %v", filepath.Base(f), i+1, err)
				continue
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments = append(m.deployments, o)
			case *corev1.Service:
				m.services = append(m.services, o)
			case *networkingv1.Ingress:
				m.ingresses = append(m.ingresses, o)
			case *policyv1.PodDisruptionBudget:
				m.pdbs = append(m.pdbs, o)
			case *autoscalingv2.HorizontalPodAutoscaler:
				m.hpas = append(m.hpas, o)
			}
		}
	}
	return m
}

// isEmpty: only comments and blank lines.
func isEmpty(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func one[T any](t *testing.T, what string, objs []T) T {
	t.Helper()
	if len(objs) != 1 {
		t.Fatalf("%d %s in deploy/k8s, want 1", len(objs), what)
	}
	return objs[0]
}

// The strict decoding catches what a plain one lets through.
func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelled field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
		"duplicate key":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"wrong type":       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: two\n",
		"bad base64":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\nbinaryData: {c: '!!'}\n",
		"bad quantity":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: c, resources: {limits: {memory: 512 MB}}}]\n",
		"unknown kind":     "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
		"old apiVersion":   "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without an error:\n%s", name, doc)
		}
	}
	if _, err := decode([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 2\n")); err != nil {
		t.Errorf("a good document: %v", err)
	}
}

func TestManifests(t *testing.T) {
	m := load(t)
	if t.Failed() {
		return
	}
	dep := one(t, "Deployments", m.deployments)
	svc := one(t, "Services", m.services)
	ing := one(t, "Ingresses", m.ingresses)
	pdb := one(t, "PodDisruptionBudgets", m.pdbs)
	hpa := one(t, "HorizontalPodAutoscalers", m.hpas)

	// The Deployment: two or more nodes, each a hotline serve that can be drained.
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Errorf("Deployment replicas %v, want 2 or more", dep.Spec.Replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		t.Fatalf("Deployment selector: %v", err)
	}
	podLabels := labels.Set(dep.Spec.Template.Labels)
	if sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("Deployment selector %v does not select its pods %v", sel, podLabels)
	}
	pod := dep.Spec.Template.Spec
	c := one(t, "containers in the Deployment's pod", pod.Containers)
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if db := env["HOTLINE_DATABASE"]; db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.Value != "" {
		t.Errorf("HOTLINE_DATABASE %+v, want it from a Secret", db)
	}
	if env["HOTLINE_TRUSTED_PROXIES"].Value == "" {
		t.Error("no HOTLINE_TRUSTED_PROXIES: behind the ingress every resident would be one address")
	}
	drain, err := time.ParseDuration(env["HOTLINE_DRAIN"].Value)
	if err != nil || drain <= 0 {
		t.Errorf("HOTLINE_DRAIN %q: want a duration (%v)", env["HOTLINE_DRAIN"].Value, err)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if addr := env["HOTLINE_ADDR"].Value; !strings.HasSuffix(addr, ":"+strconv.Itoa(int(ports["http"]))) {
		t.Errorf("HOTLINE_ADDR %q, container port http %d: want the node listening on its port", addr, ports["http"])
	}
	probe := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: none, want GET %s", name, path)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s: GET %s on port %s, want %s on http", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	probe("livenessProbe", c.LivenessProbe, "/healthz")

	var preStop time.Duration
	switch h := lifecycleHandler(c); {
	case h == nil:
		t.Error("no preStop: the pod would stop before the ingress stops sending to it")
	case h.Sleep != nil:
		preStop = time.Duration(h.Sleep.Seconds) * time.Second
	case h.Exec != nil:
		preStop = sleepSeconds(h.Exec.Command)
	}
	if preStop <= 0 {
		t.Errorf("preStop %+v: want a pause of a few seconds", lifecycleHandler(c))
	}
	// SIGKILL comes terminationGracePeriodSeconds after the preStop began: it must leave room for
	// the pause, the drain and the 10 s the node then has to close.
	grace := time.Duration(30) * time.Second
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if need := preStop + drain + 10*time.Second; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %v, want above preStop %v + drain %v + 10s", grace, preStop, drain)
	}
	if grace <= drain {
		t.Errorf("terminationGracePeriodSeconds %v not above the drain %v", grace, drain)
	}

	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want a non-root user", psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	// The data directory is writable: an emptyDir mounted where HOTLINE_DATA points.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	data := env["HOTLINE_DATA"].Value
	mounted := false
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == data {
			mounted = !vm.ReadOnly && volumes[vm.Name].EmptyDir != nil
		}
		if _, ok := volumes[vm.Name]; !ok {
			t.Errorf("volume mount %s names no volume", vm.Name)
		}
	}
	if data == "" || !mounted {
		t.Errorf("HOTLINE_DATA %q: want an emptyDir mounted there, writable", data)
	}

	// The Service selects the pods and sends to their http port.
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	svcPort := one(t, "Service ports", svc.Spec.Ports)
	if tp := svcPort.TargetPort.String(); tp != "http" && tp != strconv.Itoa(int(ports["http"])) {
		t.Errorf("Service targetPort %s, want the pods' http port", tp)
	}

	// The Ingress sends everything to the Service, with WebSocket timeouts far above the ping.
	for _, key := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		if s, err := strconv.Atoi(ing.Annotations[key]); err != nil || s < 3600 {
			t.Errorf("Ingress %s = %q, want 3600 or more (the node pings every 30 s)", key, ing.Annotations[key])
		}
	}
	rule := one(t, "Ingress rules", ing.Spec.Rules)
	path := one(t, "Ingress paths", rule.HTTP.Paths)
	if b := path.Backend.Service; path.Path != "/" || b == nil || b.Name != svc.Name || (b.Port.Name != svcPort.Name && b.Port.Number != svcPort.Port) {
		t.Errorf("Ingress path %+v, want / to Service %s port %s", path, svc.Name, svcPort.Name)
	}
	if len(ing.Spec.TLS) == 0 {
		t.Error("Ingress without TLS")
	}

	// The disruption budget keeps a pod up; the autoscaler scales this Deployment, from 2.
	if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods (%v)", pdb.Spec.Selector, err)
	}
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		t.Error("PodDisruptionBudget with neither minAvailable nor maxUnavailable")
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != dep.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HorizontalPodAutoscaler scales %+v, want Deployment %s", ref, dep.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("HorizontalPodAutoscaler replicas %v..%d, want from 2 up", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) == 0 {
		t.Error("HorizontalPodAutoscaler without metrics")
	}
}

func lifecycleHandler(c corev1.Container) *corev1.LifecycleHandler {
	if c.Lifecycle == nil {
		return nil
	}
	return c.Lifecycle.PreStop
}

// sleepSeconds reads the pause of a preStop command such as ["sleep", "5"] or
// ["/bin/sh", "-c", "sleep 5"].
func sleepSeconds(cmd []string) time.Duration {
	f := strings.Fields(strings.Join(cmd, " "))
	for i := 0; i+1 < len(f); i++ {
		if filepath.Base(f[i]) == "sleep" {
			if n, err := strconv.Atoi(f[i+1]); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

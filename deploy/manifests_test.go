package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes one manifest into the Kubernetes type its kind
// names, refusing unknown fields.
func decodeStrict(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var obj any
	switch head.APIVersion + "/" + head.Kind {
	case "apps/v1/StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "v1/Service":
		obj = &corev1.Service{}
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1/Secret":
		obj = &corev1.Secret{}
	default:
		t.Fatalf("%s: unexpected apiVersion/kind %q/%q", path, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: strict decode: %v", path, err)
	}
	return obj
}

func manifests(t *testing.T) map[string]any {
	t.Helper()
	paths, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests found: %v", err)
	}
	out := map[string]any{}
	for _, p := range paths {
		out[filepath.Base(p)] = decodeStrict(t, p)
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	got := manifests(t)
	for _, want := range []string{"statefulset.yaml", "service.yaml", "configmap.yaml", "secret-example.yaml"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing manifest %s", want)
		}
	}
}

func TestStrictDecodeCatchesTypos(t *testing.T) {
	bad := []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr:\n    a: b\n")
	if err := yaml.UnmarshalStrict(bad, &corev1.Service{}); err == nil {
		t.Fatal("a misspelt field decoded without error; the manifest test could not fail")
	}
}

func TestStatefulSetShape(t *testing.T) {
	ss := manifests(t)["statefulset.yaml"].(*appsv1.StatefulSet)
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Errorf("replicas: got %v, want 1 (bbolt allows one process per file)", ss.Spec.Replicas)
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumeClaimTemplates: got %d, want 1", len(ss.Spec.VolumeClaimTemplates))
	}
	c := ss.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe must GET /healthz")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe must GET /readyz")
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == ss.Spec.VolumeClaimTemplates[0].Name && m.MountPath == "/var/lib/pmsync" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the data volume is not mounted at /var/lib/pmsync")
	}
	sc := ss.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod must run as non-root")
	}
	if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef == nil {
		t.Errorf("tokens must come from a Secret reference")
	}
	// Every secret the example Secret defines is what the config's *_env keys name.
	sec := manifests(t)["secret-example.yaml"].(*corev1.Secret)
	cm := manifests(t)["configmap.yaml"].(*corev1.ConfigMap)
	for key := range sec.StringData {
		if !strings.Contains(cm.Data["pmsync.yaml"], key) {
			t.Errorf("secret key %s is not referenced by the config", key)
		}
	}
}

func TestServicePortMatchesContainer(t *testing.T) {
	m := manifests(t)
	svc := m["service.yaml"].(*corev1.Service)
	ss := m["statefulset.yaml"].(*appsv1.StatefulSet)
	if svc.Spec.Selector["app.kubernetes.io/name"] != ss.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Errorf("service selector does not select the StatefulSet pods")
	}
	if got := svc.Spec.Ports[0].TargetPort.String(); got != ss.Spec.Template.Spec.Containers[0].Ports[0].Name {
		t.Errorf("service targetPort %q does not name the container port", got)
	}
}

func TestSystemdUnitHardened(t *testing.T) {
	data, err := os.ReadFile("systemd/pmsync.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		k, _, ok := strings.Cut(string(line), "=")
		if ok && !strings.HasPrefix(k, "#") {
			keys[strings.TrimSpace(k)] = true
		}
	}
	for _, want := range []string{"ExecStart", "ExecReload", "DynamicUser", "StateDirectory", "NoNewPrivileges",
		"ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies", "SystemCallFilter", "CapabilityBoundingSet"} {
		if !keys[want] {
			t.Errorf("systemd unit lacks %s", want)
		}
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	stages := strings.Count(text, "\nFROM ") + boolInt(strings.HasPrefix(text, "FROM "))
	for _, c := range []struct {
		ok   bool
		what string
	}{
		{stages >= 2, fmt.Sprintf("multi-stage build (found %d FROM)", stages)},
		{strings.Contains(text, "CGO_ENABLED=0"), "static binary (CGO_ENABLED=0)"},
		{strings.Contains(text, "USER 65532"), "non-root USER"},
		{strings.Contains(text, `VOLUME ["/var/lib/pmsync"]`), "volume for the bbolt file"},
	} {
		if !c.ok {
			t.Errorf("Dockerfile: want %s", c.what)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

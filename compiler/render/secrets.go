package render

import (
	"sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler/model"
)

// ExternalSecretAPIVersion is the External Secrets Operator API rendered.
const ExternalSecretAPIVersion = "external-secrets.io/v1"

// secrets renders each declared secret in its namespace's layer: a SOPS
// file copied byte for byte, or an ExternalSecret.
func (rd *renderer) secrets() {
	for _, s := range rd.sys.Secrets {
		src := s.Source
		if src.SOPS != "" {
			rd.checkSOPSManifest(s)
			rd.add(&Object{Layer: s.Namespace, APIVersion: "v1", Kind: "Secret", Namespace: s.Namespace, Name: s.ObjectName, Raw: src.Content, Pos: src.Pos})
			continue
		}
		var data []any
		for _, k := range s.Keys {
			data = append(data, map[string]any{
				"secretKey": k,
				"remoteRef": map[string]any{"key": src.Path, "property": k},
			})
		}
		rd.addUnstructured(s.Namespace, ExternalSecretAPIVersion, "ExternalSecret", s.Namespace, s.ObjectName, src.Pos, map[string]any{
			"refreshInterval": src.RefreshInterval,
			"secretStoreRef":  map[string]any{"name": src.Store, "kind": src.StoreKind},
			"target":          map[string]any{"name": s.ObjectName, "creationPolicy": "Owner"},
			"data":            data,
		})
	}
}

// addUnstructured adds an object of an API gitopsc has no Go types for.
func (rd *renderer) addUnstructured(layer, apiVersion, kind, namespace, name string, pos model.Pos, spec map[string]any) {
	rd.add(&Object{
		Layer: layer, APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name, Pos: pos,
		Obj: map[string]any{
			"apiVersion": apiVersion,
			"kind":       kind,
			"metadata": map[string]any{
				"name":      name,
				"namespace": namespace,
				"labels":    map[string]any{LabelPartOf: rd.sys.Name, LabelManagedBy: ManagedBy},
			},
			"spec": spec,
		},
	})
}

// checkSOPSManifest makes sure the copied file is the Secret the
// components reference: kind Secret, the same name, and the secret's
// namespace or none.
func (rd *renderer) checkSOPSManifest(s *model.Secret) {
	var m struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	src := s.Source
	if err := yaml.Unmarshal(src.Content, &m); err != nil {
		rd.errs.Add(src.Pos, "%s: %s is not a YAML manifest: %v", s.Path, src.SOPS, err)
		return
	}
	switch {
	case m.Kind != "Secret":
		rd.errs.Add(src.Pos, "%s: %s holds a %q, not a Secret", s.Path, src.SOPS, m.Kind)
	case m.Metadata.Name != s.ObjectName:
		rd.errs.Add(src.Pos, "%s: %s names the Secret %q; it must be %q, the name components reference", s.Path, src.SOPS, m.Metadata.Name, s.ObjectName)
	case m.Metadata.Namespace != "" && m.Metadata.Namespace != s.Namespace:
		rd.errs.Add(src.Pos, "%s: %s is for namespace %q, but the secret is declared in %q", s.Path, src.SOPS, m.Metadata.Namespace, s.Namespace)
	}
}

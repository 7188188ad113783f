package load

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitopsc/gitopsc/compiler/kinds"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// serverMetadata are the metadata fields the API server sets; written in
// the source they would either be refused or fight the cluster.
var serverMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences"}

// objects decodes the raw objects of v, a struct of name → #Object, at
// path; block is the namespace whose objects they are, or "".
func (d *decoder) objects(v cue.Value, path, block string) []*model.Object {
	var out []*model.Object
	for _, f := range sortedFields(v) {
		if o := d.object(f, path+"."+quoteLabel(f.label), block); o != nil {
			out = append(out, o)
		}
	}
	return out
}

func (d *decoder) object(f field, path, block string) *model.Object {
	v := f.v
	if f.label == "" || strings.Contains(f.label, "/") {
		// A waiver names it object/KEY or object/NAMESPACE/KEY.
		d.errs.Add(v.Pos(), "%s: an object's name under objects must not be empty or hold '/'", path)
		return nil
	}
	o := &model.Object{Key: f.label, Block: block, Path: path, Pos: v.Pos()}
	apiVersionPos, kindPos := lookup(v, "apiVersion").Pos(), lookup(v, "kind").Pos()
	o.APIVersion, _ = str(v, "apiVersion")
	o.Kind, _ = str(v, "kind")
	o.Name, _ = str(v, "metadata.name")
	namePos := lookup(v, "metadata.name").Pos()
	ns, nsPos := str(v, "metadata.namespace")
	errs := len(*d.errs)

	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		d.errs.Add(apiVersionPos, "%s.apiVersion: %v", path, err)
		return nil
	}
	o.Group = gv.Group
	gvk := gv.WithKind(o.Kind)
	sch := kinds.Scheme()
	builtin := kinds.BuiltinGroup(gv.Group)
	if builtin && (strings.HasSuffix(o.Kind, "List") || strings.HasSuffix(o.Kind, "Options") || kinds.NotObjects[o.Kind]) {
		d.errs.Add(kindPos, "%s.kind: %s is not an object the API server stores; write each object under objects on its own", path, o.Kind)
		return nil
	}
	if builtin && !sch.Recognizes(gvk) {
		msg, atVersion := unknownKind(sch, gvk)
		pos, field := kindPos, "kind"
		if atVersion {
			pos, field = apiVersionPos, "apiVersion"
		}
		d.errs.Add(pos, "%s.%s: %s", path, field, msg)
		return nil
	}
	if lookup(v, "status").Exists() {
		d.errs.Add(lookup(v, "status").Pos(), "%s.status: the status is written by the cluster's controllers, not by the source; leave it out", path)
	}
	for _, m := range serverMetadata {
		if x := lookup(v, "metadata."+m); x.Exists() {
			d.errs.Add(x.Pos(), "%s.metadata.%s: set by the API server; leave it out", path, m)
		}
	}
	if x := lookup(v, "metadata.generateName"); x.Exists() {
		d.errs.Add(x.Pos(), "%s.metadata.generateName: Flux applies objects by name, and a generated one would be a new object at each reconciliation; give metadata.name only", path)
	}

	// Scope, namespace and name.
	namespaced := !kinds.ClusterScoped[o.Kind]
	if !builtin {
		// A custom resource's scope is its CRD's, which the source need
		// not hold: one without a namespace is taken to be cluster-scoped.
		namespaced = ns != "" || block != ""
	}
	switch {
	case !namespaced && block != "":
		d.errs.Add(kindPos, "%s: %s is cluster-scoped; write it under objects, not under namespaces: %s: objects", path, o.Kind, block)
	case !namespaced && ns != "":
		d.errs.Add(nsPos, "%s.metadata.namespace: %s is cluster-scoped; leave out metadata.namespace", path, o.Kind)
	case block != "" && ns != "" && ns != block:
		d.errs.Add(nsPos, "%s.metadata.namespace: %q under namespaces: %s: objects; leave it out, or write the object where it belongs", path, ns, block)
	case namespaced && ns == "" && block == "":
		d.errs.Add(kindPos, "%s: %s is namespaced: give metadata.namespace, or write it under namespaces: NAME: objects", path, o.Kind)
	}
	if namespaced {
		o.Namespace = ns
		if o.Namespace == "" {
			o.Namespace = block
		}
	}
	if msgs := objectNameProblems(gv.Group, builtin, o.Name); len(msgs) > 0 {
		d.errs.Add(namePos, "%s.metadata.name: %q is not a valid %s name: %s", path, o.Name, o.Kind, strings.Join(msgs, "; "))
	}
	for _, l := range sortedFields(lookup(v, "metadata.labels")) {
		if s := d.keyValue(l, path+".metadata.labels"); s != nil {
			if msgs := validation.IsValidLabelValue(s.Value); len(msgs) > 0 {
				d.errs.Add(s.Pos, "%s.metadata.labels: %q: the value is not a label value: %s", path, s.Key, strings.Join(msgs, "; "))
			}
		}
	}
	d.annotations(lookup(v, "metadata.annotations"), path+".metadata.annotations")

	if len(*d.errs) > errs {
		return nil
	}
	// The fields, against the Kubernetes type: metadata alone for a
	// custom resource.
	if builtin {
		typed, _ := sch.New(gvk)
		d.checkFields(v, reflect.TypeOf(typed), path)
		if len(*d.errs) > errs {
			return nil
		}
		b, err := v.MarshalJSON()
		if err == nil {
			err = json.Unmarshal(b, typed)
		}
		if err != nil {
			d.errs.Add(o.Pos, "%s: %s", path, jsonProblem(err))
			return nil
		}
		o.Typed = typed
		o.Images = d.podImages(v, typed)
		d.negativeResources(v, typed, path)
		if len(*d.errs) > errs {
			return nil
		}
	} else {
		d.checkFields(lookup(v, "metadata"), reflect.TypeOf(metav1.ObjectMeta{}), path+".metadata")
		if len(*d.errs) > errs {
			return nil
		}
		// Numbers stay as written: a float64 would round large ones.
		b, err := v.MarshalJSON()
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			err = dec.Decode(&o.Fields)
		}
		if err != nil {
			d.errs.Add(o.Pos, "%s: %s", path, jsonProblem(err))
			return nil
		}
	}
	if len(*d.errs) > errs {
		return nil
	}
	return o
}

// unknownKind says why a built-in group does not serve gvk: the kind is
// misspelled, or is served at another version (atVersion).
func unknownKind(s *runtime.Scheme, gvk schema.GroupVersionKind) (msg string, atVersion bool) {
	var names, versions []string
	for k := range s.AllKnownTypes() {
		if k.Group != gvk.Group || strings.HasSuffix(k.Kind, "List") || strings.HasSuffix(k.Kind, "Options") || kinds.NotObjects[k.Kind] {
			continue
		}
		if k.Kind == gvk.Kind {
			versions = append(versions, k.GroupVersion().String())
		}
		if k.Version == gvk.Version {
			names = append(names, k.Kind)
		}
	}
	sort.Strings(versions)
	sort.Strings(names)
	if len(versions) > 0 {
		return fmt.Sprintf("%s is not served at %s; write apiVersion: %q", gvk.Kind, gvk.GroupVersion(), versions[len(versions)-1]), true
	}
	return fmt.Sprintf("%s has no kind %s%s", gvk.GroupVersion(), gvk.Kind, didYouMean(gvk.Kind, names)), false
}

// objectNameProblems checks a name as the API server does: RBAC names
// are path segments, other names (custom resources' too) DNS subdomains.
func objectNameProblems(group string, builtin bool, name string) []string {
	if !builtin || group != rbacv1.GroupName {
		// The API server checks custom resources' names as DNS
		// subdomains too.
		return validation.IsDNS1123Subdomain(name)
	}
	var msgs []string
	if name == "." || name == ".." {
		msgs = append(msgs, "may not be '.' or '..'")
	}
	if strings.ContainsAny(name, "/%") {
		msgs = append(msgs, "may not contain '/' or '%'")
	}
	return msgs
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// checkFields walks v against the Go type t as encoding/json would decode
// it into t, and reports each field t does not have, and each value of
// the wrong kind, at its position; a misspelled field gets the nearest
// name t has. Types that decode themselves (quantities, int-or-strings,
// times, raw JSON) are decoded alone, so their errors are placed too.
func (d *decoder) checkFields(v cue.Value, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v.IncompleteKind() == cue.NullKind {
		return // null decodes into anything as its zero value
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		b, err := v.MarshalJSON()
		if err == nil {
			err = json.Unmarshal(b, reflect.New(t).Interface())
		}
		if err != nil {
			// Quantities, int-or-strings and times: no place for a
			// credential, so the value is shown.
			if sv, serr := v.String(); serr == nil && len(sv) <= 64 {
				d.errs.Add(fieldValuePos(v), "%s: %q: %s", path, sv, jsonProblem(err))
			} else {
				d.errs.Add(fieldValuePos(v), "%s: %s", path, jsonProblem(err))
			}
		}
		return
	}
	want := func(k cue.Kind, what string) bool {
		if v.IncompleteKind()&k == 0 {
			d.errs.Add(fieldValuePos(v), "%s: want %s, not %s", path, what, v.IncompleteKind())
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if !want(cue.StructKind, "an object") {
			return
		}
		known := jsonFields(t)
		for _, f := range fields(v) {
			ft, ok := known.types[f.label]
			if !ok {
				d.errs.Add(f.v.Pos(), "%s: unknown field %q%s", path, f.label, didYouMean(f.label, known.names))
				continue
			}
			d.checkFields(f.v, ft, path+"."+quoteLabel(f.label))
		}
	case reflect.Map:
		if !want(cue.StructKind, "an object") {
			return
		}
		for _, f := range fields(v) {
			d.checkFields(f.v, t.Elem(), path+"."+quoteLabel(f.label))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if want(cue.StringKind, "a base64 string") {
				// The value is not shown: it is a Secret's data.
				sv, _ := v.String()
				if _, err := base64.StdEncoding.DecodeString(sv); err != nil {
					d.errs.Add(fieldValuePos(v), "%s: not base64 (%v); write the plain value under stringData, or encode it", path, err)
				}
			}
			return
		}
		if !want(cue.ListKind, "a list") {
			return
		}
		l, err := v.List()
		if err != nil {
			return
		}
		for i := 0; l.Next(); i++ {
			d.checkFields(l.Value(), t.Elem(), fmt.Sprintf("%s.%d", path, i))
		}
	case reflect.String:
		want(cue.StringKind, "a string")
	case reflect.Bool:
		want(cue.BoolKind, "true or false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if want(cue.IntKind, "an integer") {
			b, _ := v.MarshalJSON()
			if err := json.Unmarshal(b, reflect.New(t).Interface()); err != nil {
				d.errs.Add(fieldValuePos(v), "%s: %s does not fit in %s", path, b, t.Kind())
			}
		}
	case reflect.Float32, reflect.Float64:
		want(cue.NumberKind, "a number")
	}
}

// structFields are the JSON names of a struct type's fields, with their
// types, embedded structs' included as encoding/json promotes them.
type structFields struct {
	types map[string]reflect.Type
	names []string
}

var fieldCache sync.Map // reflect.Type → *structFields

func jsonFields(t reflect.Type) *structFields {
	if c, ok := fieldCache.Load(t); ok {
		return c.(*structFields)
	}
	sf := &structFields{types: map[string]reflect.Type{}}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := sf.types[name]; !dup {
				sf.types[name] = f.Type
				sf.names = append(sf.names, name)
			}
		}
	}
	walk(t)
	sort.Strings(sf.names)
	fieldCache.Store(t, sf)
	return sf
}

// jsonProblem is a decoding error without encoding/json's Go type names
// where it has a plainer message.
func jsonProblem(err error) string {
	s := err.Error()
	if strings.Contains(s, "quantities must match the regular expression") {
		return "not a Kubernetes quantity (such as 500m, 1.5, 128Mi or 1Gi)"
	}
	return strings.TrimPrefix(s, "json: ")
}

// duplicateObjects reports objects of one list (the system's, or one
// environment's) that are the same Kubernetes object.
func (d *decoder) duplicateObjects(objs []*model.Object) {
	seen := map[string]*model.Object{}
	for _, o := range objs {
		id := o.Identity()
		if prev := seen[id]; prev != nil {
			d.errs.Add(o.Pos, "%s: %s is written twice, here and at %s; write it once", o.Path, o.ID(), prev.Path)
			continue
		}
		seen[id] = o
	}
}

// quoteLabel writes a field name as a path element: as is when it is an
// identifier, quoted otherwise ("app.kubernetes.io/name").
func quoteLabel(s string) string {
	for i, r := range s {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			return fmt.Sprintf("%q", s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// podImages lists the container images of a workload's pod template, with
// the position each is written at.
func (d *decoder) podImages(v cue.Value, typed any) []model.ObjectImage {
	spec, at := model.PodSpec(typed)
	if spec == nil {
		return nil
	}
	var out []model.ObjectImage
	for _, list := range []struct {
		field, what string
		cs          []corev1.Container
	}{{"initContainers", "init container ", spec.InitContainers}, {"containers", "container ", spec.Containers}} {
		for i, c := range list.cs {
			pos := v.LookupPath(cue.ParsePath(fmt.Sprintf("%s.%s[%d].image", at, list.field, i))).Pos()
			ref, digest, _ := strings.Cut(c.Image, "@")
			repo, tag := model.SplitImage(ref)
			out = append(out, model.ObjectImage{Container: list.what + c.Name, Digest: digest,
				Image: model.Image{Ref: ref, Repository: repo, Tag: tag, Pos: pos}})
		}
	}
	return out
}

// valuePos is where a field's value is written, for an error about the
// value rather than the field: v.Pos() is the field's label.
func fieldValuePos(v cue.Value) model.Pos {
	if f, ok := v.Source().(*ast.Field); ok && f.Value != nil {
		return f.Value.Pos()
	}
	return v.Pos()
}

// negativeResources refuses a negative request or limit in a workload's
// containers, which the API server refuses and which would lower the
// quota arithmetic's worst case.
func (d *decoder) negativeResources(v cue.Value, typed any, path string) {
	spec, at := model.PodSpec(typed)
	if spec == nil {
		return
	}
	for _, list := range []struct {
		field string
		cs    []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, c := range list.cs {
			for kind, rl := range map[string]corev1.ResourceList{"requests": c.Resources.Requests, "limits": c.Resources.Limits} {
				for _, name := range slices.Sorted(maps.Keys(rl)) {
					if q := rl[name]; q.Sign() < 0 {
						p := fmt.Sprintf("%s.%s[%d].resources.%s.%q", at, list.field, i, kind, string(name))
						d.errs.Add(fieldValuePos(v.LookupPath(cue.ParsePath(p))), "%s.%s.%s.%d.resources.%s.%s: %s is negative; the API server refuses it", path, at, list.field, i, kind, name, q.String())
					}
				}
			}
		}
	}
}

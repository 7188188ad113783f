package policies

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gitopsc/gitopsc/compiler/model"
)

var secretRules = []*Rule{
	{
		ID: "SEC001", Family: "secret", Severity: Error,
		Title: "no plaintext secret value in the source",
		Rationale: `Anything in config, command or args ends up in git, in the rendered
ConfigMap and in every diff. A value under a name like PASSWORD or TOKEN,
or one that looks like a credential (a cloud access key, a private key, a
URL with a password), belongs in a SOPS file or an external store,
referenced through secrets. Probe headers are checked too: an
Authorization or Cookie header, or one named like a credential, cannot be
read from a secret and would be written into the pod spec. The finding
never repeats the value.`,
		Check: checkSourcePlaintext,
		On:    OnBoth,
	},
	{
		ID: "SEC002", Family: "secret", Severity: Error,
		Title: "a file referenced as SOPS is really SOPS-encrypted",
		Rationale: `gitopsc copies SOPS files into the output byte for byte and Flux decrypts
them. A file that was never encrypted, or was decrypted for editing and
committed, would publish its values to everyone with read access to the
repository. Every value under data and stringData must be an ENC[...]
string and the file must carry SOPS metadata (mac, version, a key group).`,
		Check: checkSOPSEncrypted,
		On:    OnBoth,
	},
	{
		ID: "SEC003", Family: "secret", Severity: Error,
		Title: "no plaintext secret value in the output",
		Rationale: `The rendered tree is committed. It may hold SOPS-encrypted Secrets and
ExternalSecrets, never a Secret with plain data, nor a ConfigMap value
that looks like a credential.`,
		Check: checkOutputPlaintext,
		On:    OnBoth,
	},
}

var (
	// Each pattern comes with the literals one of which every match
	// contains: most values hold none, and a substring search is far
	// cheaper than the expression.
	secretValues = []struct {
		what  string
		hints []string
		re    *regexp.Regexp
	}{
		{"an AWS access key", []string{"AKIA", "ASIA"}, regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
		{"a private key", []string{"PRIVATE KEY-----"}, regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
		{"a GitHub token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, regexp.MustCompile(`\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}`)},
		{"a Slack token", []string{"xox"}, regexp.MustCompile(`\bxox[baprs]-[A-Za-z0-9-]{10,}`)},
		{"an API key", []string{"sk-", "AIza"}, regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}|\bAIza[0-9A-Za-z_-]{35}\b`)},
		{"a URL with a password", []string{"://"}, regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`)},
	}
	// flagName is a command-line flag, "--db-password" or
	// "--web.admin-password", up to an "=" that may follow.
	flagName = regexp.MustCompile(`^--?[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// credentialFlag names a flag whose separate next argument is a
	// credential ("--db-password", "VALUE"): named for the credential,
	// not for a switch about one ("--disable-token-auth").
	credentialFlag = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|ACCESS_?KEY)$`)
	// envReference is how Kubernetes expands a container's environment
	// variables in command and args: "--password=$(DB_PASSWORD)" reads the
	// secret-backed variable and holds no value.
	envReference = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_]*\)`)
)

// LooksSecret reports why a name/value pair looks like a plaintext
// credential, or "" when it does not. The value is never part of the
// reason.
func LooksSecret(name, value string) string {
	if value == "" {
		return ""
	}
	for _, p := range secretValues {
		for _, h := range p.hints {
			if strings.Contains(value, h) {
				if p.re.MatchString(value) {
					return "the value looks like " + p.what
				}
				break
			}
		}
	}
	if model.SecretLikeName(name) {
		return "the name suggests a credential"
	}
	return ""
}

func checkSourcePlaintext(ctx *Context) []Finding {
	var fs []Finding
	for _, c := range ctx.Env.System.Components {
		for _, s := range c.Config {
			if why := LooksSecret(s.Key, s.Value); why != "" {
				fs = append(fs, Finding{Pos: s.Pos, Target: c.Name,
					Message: fmt.Sprintf("config %s of %s holds a plaintext value and %s; move it to a secret and reference it under secrets", s.Key, c.Name, why)})
			}
		}
		fs = append(fs, probeHeaderSecrets(c)...)
		fs = append(fs, metadataSecrets(c)...)
		for _, f := range c.Files {
			if f.Secret != "" {
				continue
			}
			// A file's name says what it holds as a config key's does:
			// /etc/app/db-password holds a password.
			name := model.SettingChars.Replace(path.Base(f.Path))
			if why := LooksSecret(name, f.Content); why != "" {
				fs = append(fs, Finding{Pos: f.Pos, Target: c.Name,
					Message: fmt.Sprintf("file %s of %s holds a plaintext value and %s; mount it from a secret: files: %q: {secret: NAME, key: KEY}", f.Path, c.Name, why, f.Path)})
			}
		}
		// Sidecars and init containers run with the same secrets in
		// reach, and their arguments and config land in git just the same.
		type argv struct {
			of   string
			pos  model.Pos
			list []string
			at   []model.Pos
		}
		lists := []argv{{c.Name, c.Pos, c.Command, c.CommandPos}, {c.Name, c.Pos, c.Args, c.ArgsPos}}
		for _, sc := range c.Sidecars {
			of := "sidecar " + sc.Name + " of " + c.Name
			lists = append(lists, argv{of, sc.Pos, sc.Command, sc.CommandPos}, argv{of, sc.Pos, sc.Args, sc.ArgsPos})
			fs = append(fs, plaintextConfig(c, of, sc.Config)...)
		}
		for _, ic := range c.Init {
			of := "init container " + ic.Name + " of " + c.Name
			lists = append(lists, argv{of, ic.Pos, ic.Command, ic.CommandPos}, argv{of, ic.Pos, ic.Args, ic.ArgsPos})
			fs = append(fs, plaintextConfig(c, of, ic.Config)...)
		}
		for _, l := range lists {
			// The message names the flag or the argument's place, never
			// the argument itself: it may be the value.
			argvSecrets(l.list, func(i int, what, why string) {
				pos := l.pos
				if i < len(l.at) && l.at[i].IsValid() {
					pos = l.at[i]
				}
				fs = append(fs, Finding{Pos: pos, Target: c.Name,
					Message: fmt.Sprintf("%s of %s holds a plaintext value: %s; read it from a secret-backed environment variable", what, l.of, why)})
			})
		}
	}
	for _, o := range ctx.Env.System.Objects {
		fs = append(fs, rawSecrets(o)...)
	}
	return fs
}

// argvSecrets reports each argument of a command line that is, or passes
// as a flag, a credential: report gets its index, what to call it (never
// the argument itself, which may be the value) and why.
func argvSecrets(list []string, report func(i int, what, why string)) {
	for i, a := range list {
		a = envReference.ReplaceAllString(a, "")
		if why := LooksSecret("", a); why != "" {
			report(i, fmt.Sprintf("argument %d", i+1), why)
			continue
		}
		flag, value, joined := strings.Cut(a, "=")
		if !flagName.MatchString(flag) {
			continue
		}
		name := model.SettingChars.Replace(strings.TrimLeft(flag, "-"))
		if !model.SecretLikeName(name) {
			continue
		}
		at := i
		if !joined && credentialFlag.MatchString(name) && i+1 < len(list) {
			// "--db-password", "VALUE": the value is the next argument,
			// unless that is another flag, a switch's true or false, or
			// a value reported on its own.
			next := envReference.ReplaceAllString(list[i+1], "")
			if !strings.HasPrefix(next, "-") && next != "true" && next != "false" && LooksSecret("", next) == "" {
				value, at = next, i+1
			}
		}
		// An absolute path says where the credential is kept
		// ("--tls-private-key=/etc/tls/key.pem"), not what it is.
		if value != "" && !strings.HasPrefix(value, "/") {
			report(at, flag, "it passes a credential as a flag")
		}
	}
}

// rawSecrets reports what a raw object writes into git that looks like a
// credential, as SEC001 does for a component: its labels and annotations
// and its pods', its containers' environment values and command lines. A
// Secret's or ConfigMap's data is SEC003's, on the output.
func rawSecrets(o *model.Object) []Finding {
	var fs []Finding
	add := func(format string, args ...any) {
		fs = append(fs, Finding{Pos: o.Pos, Target: o.Target(), Object: o.ID(), Message: o.ID() + ": " + fmt.Sprintf(format, args...)})
	}
	meta := func(what string, m metav1.ObjectMeta) {
		for _, set := range []struct {
			kind string
			kvs  map[string]string
		}{{"label", m.Labels}, {"annotation", m.Annotations}} {
			for _, k := range slices.Sorted(maps.Keys(set.kvs)) {
				if why := LooksSecret(model.MetadataKeyName(k), set.kvs[k]); why != "" {
					add("%s%s %s holds a plaintext value and %s; metadata is no place for a credential: move it to a secret", what, set.kind, k, why)
				}
			}
		}
	}
	if m, ok := o.Typed.(metav1.Object); ok {
		meta("", metav1.ObjectMeta{Labels: m.GetLabels(), Annotations: m.GetAnnotations()})
	}
	spec, _ := model.PodSpec(o.Typed)
	if spec == nil {
		return fs
	}
	if t, ok := podTemplate(o.Typed); ok && o.Kind != "Pod" {
		meta("pod ", t)
	}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			for _, e := range c.Env {
				if why := LooksSecret(e.Name, e.Value); why != "" {
					add("container %s: environment variable %s holds a plaintext value and %s; take it from a Secret (valueFrom.secretKeyRef)", c.Name, e.Name, why)
				}
			}
			for _, argv := range []struct {
				what string
				list []string
			}{{"command", c.Command}, {"args", c.Args}} {
				argvSecrets(argv.list, func(i int, what, why string) {
					add("container %s: %s: %s holds a plaintext value: %s; read it from a secret-backed environment variable", c.Name, argv.what, what, why)
				})
			}
		}
	}
	return fs
}

// podTemplate is the pod metadata of a workload object.
func podTemplate(obj any) (metav1.ObjectMeta, bool) {
	switch t := obj.(type) {
	case *corev1.Pod:
		return t.ObjectMeta, true
	case *appsv1.Deployment:
		return t.Spec.Template.ObjectMeta, true
	case *appsv1.StatefulSet:
		return t.Spec.Template.ObjectMeta, true
	case *appsv1.DaemonSet:
		return t.Spec.Template.ObjectMeta, true
	case *appsv1.ReplicaSet:
		return t.Spec.Template.ObjectMeta, true
	case *batchv1.Job:
		return t.Spec.Template.ObjectMeta, true
	case *batchv1.CronJob:
		return t.Spec.JobTemplate.Spec.Template.ObjectMeta, true
	}
	return metav1.ObjectMeta{}, false
}

// SOPSProblem reports why b is not a SOPS-encrypted manifest, or "".
func SOPSProblem(b []byte) string {
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "it is not YAML"
	}
	meta, ok := doc["sops"].(map[string]any)
	if !ok {
		return "it has no sops metadata; encrypt it with sops"
	}
	if mac, _ := meta["mac"].(string); !strings.HasPrefix(mac, "ENC[") {
		return "its sops metadata has no mac"
	}
	if _, ok := meta["version"]; !ok {
		return "its sops metadata has no version"
	}
	keyGroup := false
	for _, k := range []string{"age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "key_groups"} {
		if l, ok := meta[k].([]any); ok && len(l) > 0 {
			keyGroup = true
		}
	}
	if !keyGroup {
		return "its sops metadata names no key to decrypt it with"
	}
	var plain []string
	for _, field := range []string{"data", "stringData"} {
		m, _ := doc[field].(map[string]any)
		for k, v := range m {
			if s, ok := v.(string); !ok || !strings.HasPrefix(s, "ENC[") {
				plain = append(plain, field+"."+k)
			}
		}
	}
	if len(plain) > 0 {
		sort.Strings(plain)
		return "these values are not encrypted: " + strings.Join(plain, ", ")
	}
	return ""
}

func checkSOPSEncrypted(ctx *Context) []Finding {
	var fs []Finding
	for _, s := range ctx.Env.System.Secrets {
		if s.Source.SOPS == "" {
			continue
		}
		if why := SOPSProblem(s.Source.Content); why != "" {
			fs = append(fs, Finding{Pos: s.Source.Pos, Target: "secret/" + s.Name, Object: "Secret " + s.Namespace + "/" + s.ObjectName,
				Message: fmt.Sprintf("secret %s: %s is referenced as SOPS-encrypted, but %s", s.Name, s.Source.SOPS, why)})
		}
	}
	return fs
}

func checkOutputPlaintext(ctx *Context) []Finding {
	if ctx.Env.Env.IsCompose() {
		return composePlaintext(ctx)
	}
	var fs []Finding
	for _, o := range ctx.Output.Objects {
		switch t := o.Obj.(type) {
		case *corev1.Secret:
			if len(t.Data)+len(t.StringData) == 0 {
				continue // nothing in it to leak
			}
			fs = append(fs, Finding{Pos: o.Pos, Target: o.Component, Object: "Secret " + t.Namespace + "/" + t.Name,
				Message: fmt.Sprintf("Secret %s/%s would be written with plaintext data", t.Namespace, t.Name)})
		case *corev1.ConfigMap:
			c := ctx.Env.System.Component(o.Component)
			keys := make([]string, 0, len(t.Data))
			for k := range t.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				// Values written in config are judged in the source
				// (SEC001), at their line; reporting them again would take
				// a second waiver for one problem. Here only values the
				// source does not show, and only those that look like
				// credentials.
				if c != nil && configValue(c, k) == t.Data[k] {
					continue
				}
				// A raw ConfigMap's keys are names as a config key is.
				name := ""
				if o.Source != nil {
					name = k
				}
				if why := LooksSecret(name, t.Data[k]); why != "" {
					fs = append(fs, Finding{Pos: o.Pos, Target: o.Component, Object: "ConfigMap " + t.Namespace + "/" + t.Name,
						Message: fmt.Sprintf("ConfigMap %s/%s key %s: %s", t.Namespace, t.Name, k, why)})
				}
			}
		}
	}
	return fs
}

// plaintextConfig reports the config of an extra container of c that
// looks like a credential.
func plaintextConfig(c *model.Component, of string, config []model.Setting) []Finding {
	var fs []Finding
	for _, s := range config {
		if why := LooksSecret(s.Key, s.Value); why != "" {
			fs = append(fs, Finding{Pos: s.Pos, Target: c.Name,
				Message: fmt.Sprintf("config %s of %s holds a plaintext value and %s; move it to a secret and reference it under secrets", s.Key, of, why)})
		}
	}
	return fs
}

// configValue is the value config gives key, or "".
func configValue(c *model.Component, key string) string {
	for _, s := range c.Config {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// metadataSecrets reports labels and annotations of c that look like
// credentials: they are written to git with the objects that carry them.
func metadataSecrets(c *model.Component) []Finding {
	sets := []struct {
		what string
		kvs  []model.Setting
	}{{"pod label", c.Pod.Labels}, {"pod annotation", c.Pod.Annotations}, {"ServiceAccount annotation", c.ServiceAccount.Annotations}}
	if c.Expose != nil {
		sets = append(sets, struct {
			what string
			kvs  []model.Setting
		}{"exposure annotation", c.Expose.Annotations})
	}
	var fs []Finding
	for _, set := range sets {
		for _, s := range set.kvs {
			if why := LooksSecret(model.MetadataKeyName(s.Key), s.Value); why != "" {
				fs = append(fs, Finding{Pos: s.Pos, Target: c.Name,
					Message: fmt.Sprintf("%s %s of %s holds a plaintext value and %s; metadata is no place for a credential: move it to a secret", set.what, s.Key, c.Name, why)})
			}
		}
	}
	return fs
}

// ArgvSecrets reports, as argvSecrets does, each argument of a command
// line that is or passes a credential: its index, what to call it (never
// the argument) and why.
func ArgvSecrets(list []string, report func(i int, what, why string)) { argvSecrets(list, report) }

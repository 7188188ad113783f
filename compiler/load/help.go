package load

import (
	"fmt"
	"sort"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// patternHelp says in words what each pattern of the schema accepts: CUE
// reports a value that does not match as "out of bound =~REGEX", which
// users read badly. Keys are schema definitions ("#CPU") or pattern
// literals used inline.
var patternHelp = []struct{ pattern, help string }{
	{"#DNSLabel", "a DNS-1123 label: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit"},
	{"#CPU", `a CPU quantity such as "500m", "1" or "1.5"`},
	{"#Memory", `a memory quantity such as "512Mi", "1Gi" or "1G"`},
	{"#Image", `an image reference with a tag, such as "registry.example.com/team/app:1.4.0" (lower-case repository; no digest: the image lock pins it)`},
	{"#PortName", "a port name: at most 15 lower-case letters, digits and '-', starting with a letter"},
	{"#Flow", `"component:port", such as "mysql:mysql", or "TENANT/component:port"`},
	{"#EnvName", "an environment variable name: letters, digits and '_', not starting with a digit"},
	{"#SecretKey", "a secret key: letters, digits, '-', '_' and '.'"},
	{"#AbsPath", "an absolute path, starting with /"},
	{"#Hostname", `a DNS name such as "api.anthropic.com" (lower-case, no scheme, no port)`},
	{"#CIDR", `an address range such as "10.0.0.0/8" or "2600:1f00::/24"`},
	{`=~"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"`, `an application protocol such as "http", "grpc" or "kubernetes.io/h2c"`},
	{"#Duration", `a duration such as "30s", "5m" or "1h30m"`},
	{`=~"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"`, "an image tag: letters, digits, '_', '.' and '-', at most 128"},
	{`=~"^[A-Z]+[0-9]+$"`, `a rule ID such as "QUOTA003" (see gitopsc rules)`},
	{`=~"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"`, `a date, YYYY-MM-DD`},
	{`=~"^(https|ssh)://"`, "an https:// or ssh:// URL"},
	{`=~"\\.ya?ml$"`, "a .yaml or .yml file"},
	{`=~"^[0-9]+%$"`, `a percentage such as "25%"`},
	{`=~"^[A-Z_]+$"`, `a capability name such as "NET_BIND_SERVICE"`},
	{`=~"^1\\.(0|[1-9][0-9]{0,2})$"`, `a Kubernetes minor version such as "1.31"`},
	{"#IAMRole", `an IAM role's ARN such as "arn:aws:iam::111122223333:role/NAME"`},
	{"#APIResource", `a resource's plural name, with its API group after a dot unless it is the core group: "pods", "endpointslices.discovery.k8s.io"`},
}

// patternWords maps each pattern of the schema, as CUE prints it in a
// bound, to what it accepts in words.
func patternWords(ctx *cue.Context, schema cue.Value) map[string]string {
	words := map[string]string{}
	for _, p := range patternHelp {
		var v cue.Value
		if strings.HasPrefix(p.pattern, "#") {
			v = schema.LookupPath(cue.ParsePath(p.pattern))
		} else {
			v = ctx.CompileString(p.pattern)
		}
		if v.Err() != nil {
			continue
		}
		words[fmt.Sprint(v)] = p.help
	}
	return words
}

// explainPatterns rewrites "(out of bound =~REGEX)" in each diagnostic
// into what the pattern accepts.
func explainPatterns(words map[string]string, l diag.List) diag.List {
	patterns := make([]string, 0, len(words))
	for p := range words {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	var repl []string
	for _, p := range patterns {
		repl = append(repl, " (out of bound "+p+")", "; want "+words[p])
	}
	r := strings.NewReplacer(repl...)
	for i := range l {
		l[i].Msg = r.Replace(l[i].Msg)
	}
	return l
}

package load

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// redactor holds the values in the input that look like secrets, so that
// no message quotes one: CUE's own errors print the values they compare
// ("conflicting values "hunter2" and {...}"), and those reach CI logs in
// every --format.
//
// Values are collected from the syntax as written, not from the evaluated
// value: a field in conflict evaluates to an error, and its literals are
// exactly what the conflict message quotes. The evaluated value adds what
// only evaluation knows (a secret given through a reference).
type redactor struct {
	strs map[string]bool
	nums map[string]bool
	refs map[string]bool // fields named where a secret's value belongs

	built   bool
	quoted  *strings.Replacer
	numbers *regexp.Regexp
}

func newRedactor() *redactor {
	return &redactor{strs: map[string]bool{}, nums: map[string]bool{}, refs: map[string]bool{}}
}

// hidden replaces a secret's value in a message.
const hidden = "(value hidden)"

// sensitive reports whether a field at path holds a secret's value:
// anything under a component's secrets (but the secret and key names of
// a reference), a config value under a credential-like name, in the
// system or an environment.
func sensitive(path []string) bool {
	path = canonical(path)
	if in := objectPath(path); in != nil {
		return sensitiveInObject(in)
	}
	switch {
	case len(path) >= 5 && path[0] == "system" && path[1] == "components" && path[3] == "secrets":
		return len(path) == 5 || path[5] != "secret" && path[5] != "key"
	case len(path) >= 5 && path[0] == "system" && path[1] == "components" && path[3] == "config":
		return model.SecretLikeName(path[4])
	case len(path) >= 6 && path[0] == "environments" && path[2] == "components" && path[4] == "config":
		return model.SecretLikeName(path[5])
	case len(path) >= 6 && (path[len(path)-2] == "annotations" || path[len(path)-2] == "labels"):
		return model.MetadataKeySecretLike(path[len(path)-1])
	}
	return false
}

// isSecretRef reports whether path is a component's secrets entry.
func isSecretRef(path []string) bool {
	p := canonical(path)
	return len(p) == 5 && p[3] == "secrets"
}

// canonical writes a path under a template or a tenant as the path of
// the same field under the system or an environment, whose fields hold
// values alike: a template's component as a system component, a
// tenant's component overrides and objects as an environment's and its
// namespace's. Other paths are returned as they are.
func canonical(path []string) []string {
	switch {
	case len(path) >= 5 && path[0] == "system" && path[1] == "templates" && path[3] == "components":
		return append([]string{"system", "components"}, path[4:]...)
	case len(path) >= 5 && path[0] == "system" && path[1] == "tenants" && path[3] == "components":
		return append([]string{"environments", path[2], "components"}, path[4:]...)
	case len(path) >= 5 && path[0] == "system" && path[1] == "tenants" && path[3] == "objects":
		return append([]string{"system", "namespaces", path[2]}, path[3:]...)
	case len(path) >= 6 && path[0] == "environments" && path[2] == "tenants" && path[4] == "components":
		return append([]string{"environments", path[1], "components"}, path[5:]...)
	case len(path) >= 6 && path[0] == "environments" && path[2] == "tenants" && path[4] == "objects":
		return append([]string{"environments", path[1], "namespaces"}, path[3:]...)
	}
	return path
}

// objectPath is the part of path inside a raw object, after
// objects.NAME: under system, a system namespace, an environment or an
// environment's namespace; nil for a path elsewhere.
func objectPath(path []string) []string {
	for _, at := range []int{1, 2, 3, 4} {
		if len(path) > at+2 && path[at] == "objects" {
			switch {
			case at == 1 && path[0] == "system", // system.objects.NAME
				at == 2 && path[0] == "environments",                            // environments.ENV.objects.NAME
				at == 3 && path[0] == "system" && path[1] == "namespaces",       // system.namespaces.NS.objects.NAME
				at == 4 && path[0] == "environments" && path[2] == "namespaces": // environments.ENV.namespaces.NS.objects.NAME
				return path[at+2:]
			}
		}
	}
	return nil
}

// sensitiveInObject reports whether a field of a raw object, at path
// inside it, may hold a secret's value: a Secret's or ConfigMap's data
// (which field is which the syntax does not say, so both), a container's
// environment values, and labels or annotations under credential-like
// names. CUE's messages then hide its value, as for a component's.
func sensitiveInObject(path []string) bool {
	if len(path) >= 2 && (path[0] == "data" || path[0] == "stringData" || path[0] == "binaryData") {
		return true
	}
	if n := len(path); n >= 3 && path[n-1] == "value" && path[n-3] == "env" {
		return true
	}
	if n := len(path); n >= 2 && (path[n-2] == "annotations" || path[n-2] == "labels") {
		return model.MetadataKeySecretLike(path[n-1])
	}
	return false
}

// commandLine reports whether path is a component's or init container's
// command or args, or a raw object's container's, where a credential may
// be passed as a flag.
func commandLine(path []string) bool {
	path = canonical(path)
	if in := objectPath(path); in != nil {
		last := in[len(in)-1]
		return len(in) >= 2 && (last == "command" || last == "args")
	}
	if len(path) < 4 || path[0] != "system" || path[1] != "components" {
		return false
	}
	last := path[len(path)-1]
	return last == "command" || last == "args"
}

// collectSyntax walks the files' fields, tracking each one's path, and
// takes every literal under a sensitive field, and credential values
// passed as flags in command and args.
func (r *redactor) collectSyntax(files []*ast.File) {
	for _, f := range files {
		r.walkDecls(f.Decls, nil)
	}
	if len(r.refs) == 0 {
		return
	}
	for _, f := range files {
		ast.Walk(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.Field); ok {
				if name, _, err := ast.LabelName(fd.Label); err == nil && r.refs[name] {
					ast.Walk(fd.Value, func(n ast.Node) bool {
						if l, ok := n.(*ast.BasicLit); ok {
							r.addLiteral(l)
						}
						return true
					}, nil)
				}
			}
			return true
		}, nil)
	}
}

func (r *redactor) walkDecls(decls []ast.Decl, path []string) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(d.Label)
			if err != nil {
				// A pattern or computed label: whatever is under it
				// might be anything, so its sensitive-looking fields are
				// still found by their own names below.
				name = "*"
			}
			p := append(append([]string(nil), path...), name)
			r.walkExpr(d.Value, p)
		case *ast.EmbedDecl:
			r.walkExpr(d.Expr, path)
		case *ast.Comprehension:
			if s, ok := d.Value.(*ast.StructLit); ok {
				r.walkDecls(s.Elts, path)
			}
		}
	}
}

func (r *redactor) walkExpr(x ast.Expr, path []string) {
	if sensitive(path) {
		ast.Walk(x, func(n ast.Node) bool {
			if s, ok := n.(*ast.StructLit); ok && isSecretRef(path) {
				// A reference's secret and key are names; anything else
				// written there is a value under another name.
				r.walkDecls(s.Elts, path)
				return false
			}
			switch n := n.(type) {
			case *ast.BasicLit:
				r.addLiteral(n)
			case *ast.Ident:
				// A value given by reference: the field it names is
				// taken too, wherever it is declared.
				r.refs[n.Name] = true
			}
			return true
		}, nil)
		return
	}
	if commandLine(path) {
		r.collectFlags(x)
		return
	}
	switch x := x.(type) {
	case *ast.StructLit:
		r.walkDecls(x.Elts, path)
	case *ast.BinaryExpr:
		r.walkExpr(x.X, path)
		r.walkExpr(x.Y, path)
	case *ast.ParenExpr:
		r.walkExpr(x.X, path)
	case *ast.ListLit:
		for i, e := range x.Elts {
			r.walkExpr(e, append(append([]string(nil), path...), strconv.Itoa(i)))
		}
	}
}

// collectFlags takes the value of each credential-named flag of a command
// line: "--db-password=VALUE", or "--db-password" followed by VALUE.
func (r *redactor) collectFlags(x ast.Expr) {
	var lits []*ast.BasicLit
	ast.Walk(x, func(n ast.Node) bool {
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING {
			lits = append(lits, l)
		}
		return true
	}, nil)
	// Words, as a shell would split them: "--db-password VALUE" may be one
	// string or two. A word that carries a credential hides its whole
	// string too.
	type word struct{ text, whole string }
	var words []word
	for _, l := range lits {
		s, err := literal.Unquote(l.Value)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(s) {
			words = append(words, word{w, s})
		}
	}
	for i, w := range words {
		flag, value, joined := strings.Cut(w.text, "=")
		if !strings.HasPrefix(flag, "-") || !model.SecretLikeName(model.SettingChars.Replace(strings.TrimLeft(flag, "-"))) {
			continue
		}
		if joined {
			r.addString(w.whole)
			r.addString(w.text)
			r.addString(value)
		} else if i+1 < len(words) {
			r.addString(words[i+1].whole)
			r.addString(words[i+1].text)
		}
	}
}

func (r *redactor) addLiteral(l *ast.BasicLit) {
	switch l.Kind {
	case token.STRING:
		if s, err := literal.Unquote(l.Value); err == nil {
			r.addString(s)
		}
	case token.INT, token.FLOAT:
		r.nums[l.Value] = true
		if n, err := strconv.ParseFloat(strings.ReplaceAll(l.Value, "_", ""), 64); err == nil {
			r.nums[strconv.FormatFloat(n, 'f', -1, 64)] = true
		}
	}
}

func (r *redactor) addString(s string) {
	if s != "" {
		r.strs[s] = true
	}
}

// collectValues adds the concrete values evaluation gives at the
// sensitive fields: those written through a reference or a comprehension.
func (r *redactor) collectValues(v cue.Value) {
	add := func(f cue.Value) {
		if s, err := f.String(); err == nil {
			r.addString(s)
		} else if k := f.IncompleteKind(); k&cue.NumberKind != 0 && f.IsConcrete() {
			r.nums[fmt.Sprint(f)] = true
		}
	}
	// Labels and annotations under a credential-like key, as config.
	metadata := func(c cue.Value) {
		for _, p := range model.MetadataPaths {
			for _, s := range fields(c.LookupPath(cuePath(p))) {
				if model.MetadataKeySecretLike(s.label) {
					add(s.v)
				}
			}
		}
	}
	comps := fields(v.LookupPath(cuePath(pathSystem + ".components")))
	for _, t := range fields(v.LookupPath(cuePath(pathSystem + ".templates"))) {
		comps = append(comps, fields(t.v.LookupPath(cuePath("components")))...)
	}
	for _, c := range comps {
		for _, s := range fields(c.v.LookupPath(cuePath("secrets"))) {
			add(s.v)
		}
		for _, s := range fields(c.v.LookupPath(cuePath("config"))) {
			if model.SecretLikeName(s.label) {
				add(s.v)
			}
		}
		metadata(c.v)
	}
	// Overrides: an environment's, a tenant's and an environment's of a
	// tenant.
	var overrides []field
	for _, t := range fields(v.LookupPath(cuePath(pathSystem + ".tenants"))) {
		overrides = append(overrides, fields(t.v.LookupPath(cuePath("components")))...)
	}
	for _, e := range fields(v.LookupPath(cuePath(pathEnvironments))) {
		overrides = append(overrides, fields(e.v.LookupPath(cuePath("components")))...)
		for _, t := range fields(e.v.LookupPath(cuePath("tenants"))) {
			overrides = append(overrides, fields(t.v.LookupPath(cuePath("components")))...)
		}
	}
	{
		for _, c := range overrides {
			for _, s := range fields(c.v.LookupPath(cuePath("config"))) {
				if model.SecretLikeName(s.label) {
					add(s.v)
				}
			}
			metadata(c.v)
		}
	}
}

// build readies the replacements: each string as a whole quoted token
// (CUE quotes every string it prints), each number as a whole number.
func (r *redactor) build() {
	var strs []string
	for s := range r.strs {
		strs = append(strs, s)
	}
	// Longer first, so that a value containing another is hidden whole.
	sort.Slice(strs, func(i, j int) bool {
		return len(strs[i]) > len(strs[j]) || len(strs[i]) == len(strs[j]) && strs[i] < strs[j]
	})
	var pairs []string
	for _, s := range strs {
		pairs = append(pairs, strconv.Quote(s), hidden)
		if q := literal.String.Quote(s); q != strconv.Quote(s) {
			pairs = append(pairs, q, hidden)
		}
	}
	if len(pairs) > 0 {
		r.quoted = strings.NewReplacer(pairs...)
	}
	var nums []string
	for n := range r.nums {
		nums = append(nums, regexp.QuoteMeta(n))
	}
	if len(nums) > 0 {
		sort.Slice(nums, func(i, j int) bool {
			return len(nums[i]) > len(nums[j]) || len(nums[i]) == len(nums[j]) && nums[i] < nums[j]
		})
		r.numbers = regexp.MustCompile(`(^|[^0-9A-Za-z_.])(` + strings.Join(nums, "|") + `)($|[^0-9A-Za-z_.])`)
	}
}

// apply hides the collected values in every message of l.
func (r *redactor) apply(l diag.List) {
	if !r.built {
		r.build()
		r.built = true
	}
	for i := range l {
		m := l[i].Msg
		if r.quoted != nil {
			m = r.quoted.Replace(m)
		}
		if r.numbers != nil {
			// Twice, since neighbouring numbers share the boundary
			// character the first pass consumed.
			for range 2 {
				m = r.numbers.ReplaceAllString(m, "${1}"+hidden+"${3}")
			}
		}
		l[i].Msg = m
	}
}

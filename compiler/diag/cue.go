package diag

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// Source tells the translator about the input an error came from.
type Source struct {
	// Locate gives the position of the field at path in the user's files
	// and whether the field itself was found (rather than the nearest
	// field enclosing it). Nil when there is no input to look in.
	Locate func(path []string) (pos token.Pos, exact bool)
	// Suggest gives the fields the schema allows beside the misspelled
	// last element of path, for "did you mean".
	Suggest func(path []string) []string
	// Describe says in words what a bound such as =~"^[0-9]+%$" accepts,
	// or "" when it cannot.
	Describe func(bound string) string
}

// FromCUE converts a CUE error into diagnostics. Each error leads with the
// first position in a user file rather than the schema, and the branches
// of a failed disjunction are collapsed into one line.
func FromCUE(err error) List { return FromCUEIn(err, Source{}) }

// FromCUEIn is FromCUE for an error from validating user input against
// the schema: an error CUE gives no position in the user's files (a
// required field left out, a type where a value belongs, a cycle) is put
// at the field the user wrote, or the nearest one enclosing it, as src
// locates it.
func FromCUEIn(err error, src Source) List {
	var out List
	reported := map[string]bool{}
	for _, n := range errorTree(cueerrors.Errors(err)) {
		if len(n.branches) > 0 && reported[n.path] {
			// Two values of the user's own in conflict fail every
			// branch of a choice too; the conflict says it all, and the
			// branches would compare schema constants with one of them.
			continue
		}
		reported[n.path] = true
		out = append(out, translate(collapse(n, src.Describe), src))
	}
	return out
}

// node is one CUE error; a failed disjunction holds its branches.
type node struct {
	e        cueerrors.Error
	path     string
	branches []*node
	// allowed lists the values an enumeration accepts, once collapsed;
	// alternatives the forms a choice of types and patterns accepts.
	allowed      []string
	alternatives []string
	got          string
}

// errorTree groups a flat list of CUE errors: "N errors in empty
// disjunction:" is followed by its N branches, which may themselves be
// failed disjunctions (an enum inside one shape of a choice of shapes).
func errorTree(errs []cueerrors.Error) []*node {
	i := 0
	return branchesOf(errs, &i, len(errs), "", true)
}

func branchesOf(errs []cueerrors.Error, i *int, n int, within string, top bool) []*node {
	var out []*node
	for consumed := 0; consumed < n && *i < len(errs); {
		e := errs[*i]
		p := cuePath(e.Path())
		if !top && !hasPathPrefix(p, within) {
			break
		}
		*i++
		consumed++
		nd := &node{e: e, path: p}
		if k, ok := disjunctionSize(e); ok {
			start := *i
			nd.branches = branchesOf(errs, i, k, p, false)
			consumed += *i - start
		}
		out = append(out, nd)
	}
	return out
}

func disjunctionSize(e cueerrors.Error) (int, bool) {
	format, args := e.Msg()
	if !strings.HasSuffix(format, "errors in empty disjunction:") {
		return 0, false
	}
	if len(args) > 0 {
		if n, ok := args[0].(int); ok {
			return n, true
		}
	}
	return 1 << 30, true
}

func hasPathPrefix(p, prefix string) bool {
	return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+".")
}

// collapse turns a failed disjunction into the one branch to report: an
// enumeration when every branch compared the same value against a
// constant, else the branch that got deepest into the value.
func collapse(n *node, describe func(string) string) *node {
	if len(n.branches) == 0 {
		return n
	}
	var allowed []string
	var got string
	enum := true
	for _, b := range n.branches {
		format, args := b.e.Msg()
		if len(b.branches) > 0 || !strings.HasPrefix(format, "conflicting values %s and %s") || len(args) < 2 || b.path != n.path {
			enum = false
			break
		}
		a0, a1 := fmt.Sprint(args[0]), fmt.Sprint(args[1])
		// CUE orders the operands by position; the user's value is the
		// one that repeats across branches.
		if got == "" {
			got = a1
		}
		switch got {
		case a1:
			allowed = append(allowed, a0)
		case a0:
			allowed = append(allowed, a1)
		default:
			enum = false
		}
	}
	if enum && len(allowed) > 1 {
		sort.Strings(allowed)
		return &node{e: n.branches[0].e, path: n.path, allowed: allowed, got: got}
	}
	if alts, got, ok := alternatives(n, describe); ok {
		return &node{e: n.branches[0].e, path: n.path, alternatives: alts, got: got}
	}
	best := n.branches[0]
	for _, b := range n.branches[1:] {
		if depth(b) > depth(best) {
			best = b
		}
	}
	return collapse(best, describe)
}

// alternatives words a choice of forms whose branches all failed at the
// choice itself (an integer or a percentage, say): each form the value
// could have taken, in the order the schema lists them.
func alternatives(n *node, describe func(string) string) ([]string, string, bool) {
	var alts []string
	got := ""
	for _, b := range n.branches {
		format, args := b.e.Msg()
		if len(b.branches) > 0 || b.path != n.path || len(args) < 2 {
			return nil, "", false
		}
		if strings.HasPrefix(format, "conflicting values %s and %s") {
			format = "conflicting values %s and %s"
		}
		switch format {
		case "invalid value %v (out of bound %s)":
			v, bound := fmt.Sprint(args[0]), fmt.Sprint(args[1])
			if got != "" && got != v {
				return nil, "", false
			}
			got = v
			w := ""
			if describe != nil {
				w = describe(bound)
			}
			if w == "" {
				w = "a value matching " + bound
			}
			alts = append(alts, w)
		case "conflicting values %s and %s":
			a0, a1 := fmt.Sprint(args[0]), fmt.Sprint(args[1])
			kind := typeWords[a0]
			v := a1
			if kind == "" {
				kind, v = typeWords[a1], a0
			}
			if kind == "" || got != "" && got != v {
				return nil, "", false
			}
			got = v
			alts = append(alts, kind)
		default:
			return nil, "", false
		}
	}
	return alts, got, len(alts) > 1
}

// typeWords names CUE's basic types as a user would.
var typeWords = map[string]string{
	"int": "an integer", "number": "a number", "float": "a number", "string": "a string",
	"bool": "true or false", "bytes": "bytes",
}

// depth is how far into the value a branch got before it failed, in
// half steps: a field the branch does not allow means the value has
// another shape altogether, so at the same depth a branch whose shape
// fits and whose value is wrong tells the user more.
func depth(n *node) int {
	d := 2 * strings.Count(n.path, ".")
	if format, _ := n.e.Msg(); format == "field not allowed" {
		d--
	}
	for _, b := range n.branches {
		d = max(d, depth(b))
	}
	return d
}

// translate words one CUE error for a user and places it.
func translate(n *node, src Source) Diagnostic {
	e := n.e
	rawPath := e.Path()
	if len(rawPath) > 0 && rawPath[0] == "#Root" {
		rawPath = rawPath[1:]
	}
	labels := unquoted(rawPath)
	format, args := e.Msg()
	msg := fmt.Sprintf(format, args...)
	pos := userPos(e)
	inUser := pos.Position().Filename != "" && !isSchema(pos)
	var schemaAt string
	if !inUser {
		schemaAt = Position(pos, "")
	}
	var exact bool
	if !inUser && src.Locate != nil {
		var p token.Pos
		if p, exact = src.Locate(labels); p.Position().Filename != "" {
			pos = p
		}
	}
	switch {
	case n.allowed != nil:
		msg = fmt.Sprintf("%s is not allowed; want one of %s", n.got, strings.Join(n.allowed, ", "))
	case strings.HasSuffix(format, "errors in empty disjunction:"):
		msg = "no allowed value matches"
	case strings.HasPrefix(format, "incomplete value"):
		if !exact && len(labels) > 1 && isIndex(labels[len(labels)-1]) {
			// The first element of a list that needs one: the list
			// itself was left out.
			labels = labels[:len(labels)-1]
			msg = fmt.Sprintf("required field %s is missing; it needs at least one entry", labels[len(labels)-1])
			if schemaAt != "" {
				msg += " (declared at " + schemaAt + ")"
			}
		} else if !exact && len(labels) > 0 {
			msg = fmt.Sprintf("required field %s is missing", labels[len(labels)-1])
			if schemaAt != "" {
				msg += " (declared at " + schemaAt + ")"
			}
		} else {
			msg = "needs a concrete value, not a type or a constraint: write " + kindWords(args)
		}
	case format == "invalid value %v (out of bound %s)" && len(args) == 2:
		msg = outOfBound(fmt.Sprint(args[0]), fmt.Sprint(args[1]), msg, boundInSchema(e))
	case strings.HasPrefix(format, "structural cycle"):
		msg = "refers to itself (a structural cycle): a field cannot contain its own value"
	case format == "incompatible list lengths (%d and %d)" && len(args) == 2:
		a, _ := args[0].(int)
		b, _ := args[1].(int)
		switch {
		case !boundInSchema(e):
			// Two lists of the input's own: lists do not merge.
			msg = fmt.Sprintf("is given two lists, of %d and %d entries; lists do not merge, so write it once", min(a, b), max(a, b))
		case min(a, b) == 0 && max(a, b) == 1:
			msg = "is empty; at least one entry is needed"
		default:
			// The schema's lists are open ([X, ...X]): the shorter is
			// the user's.
			msg = fmt.Sprintf("has %d entries; at least %d are needed", min(a, b), max(a, b))
		}
	case n.alternatives != nil:
		msg = fmt.Sprintf("%s is not allowed; want %s", n.got, strings.Join(n.alternatives, ", or "))
	case strings.HasPrefix(format, "cycle with field"):
		msg = "its value depends on itself (a reference cycle): a field cannot be computed from its own value"
	case format == "import failed":
		// The reason is the wrapped error; Msg has only the headline.
		msg = "import failed"
		if why := importReason.FindStringSubmatch(e.Error()); why != nil {
			msg += ": " + why[1]
		}
	case format == "field not allowed" && src.Suggest != nil:
		if len(labels) == 0 {
			break
		}
		if s := Closest(labels[len(labels)-1], src.Suggest(labels)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		if schemaAt != "" {
			msg += " (schema: " + schemaAt + ")"
		}
	default:
		if schemaAt != "" {
			msg += " (schema: " + schemaAt + ")"
		}
	}
	return Diagnostic{Pos: pos, Msg: withPath(ShortPath(labels), msg), Class: ClassSchema}
}

// outOfBound words CUE's "invalid value 5 (out of bound <=3)", naming
// who set the bound: Kubernetes for int32, the schema, or the input's own
// constraint.
func outOfBound(value, bound, msg string, schema bool) string {
	who := "the input's own constraint"
	for _, op := range []struct{ op, words string }{
		{"<=", "%[1]s is more than %[3]s allows (%[2]s)"}, {">=", "%[1]s is less than %[3]s allows (%[2]s)"},
		{"<", "%[1]s is not below %[2]s, as %[3]s requires"}, {">", "%[1]s is not above %[2]s, as %[3]s requires"},
	} {
		limit, ok := strings.CutPrefix(bound, op.op)
		if !ok {
			continue
		}
		if _, err := strconv.ParseFloat(limit, 64); err != nil {
			return msg
		}
		switch {
		case limit == "2147483647" || limit == "-2147483648":
			who = "Kubernetes"
		case schema:
			who = "the schema"
		}
		return fmt.Sprintf(op.words, value, limit, who)
	}
	return msg
}

// boundInSchema reports whether a bound comes from the embedded schema:
// some position of the error lies there.
func boundInSchema(e cueerrors.Error) bool {
	for _, p := range cueerrors.Positions(e) {
		if isSchema(p) {
			return true
		}
	}
	return false
}

// importReason finds the reason in a failed import's full text, after
// the position CUE puts before it.
var importReason = regexp.MustCompile(`\.cue:\d+:\d+: (.+)$`)

func isIndex(label string) bool {
	_, err := strconv.Atoi(label)
	return err == nil
}

// kindWords says what kind of value an incomplete type stands for.
func kindWords(args []any) string {
	if len(args) == 0 {
		return "a value"
	}
	t := fmt.Sprint(args[0])
	switch {
	case strings.Contains(t, "int") || strings.Contains(t, "number") || strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "bool"):
		return "true or false"
	case strings.HasPrefix(t, "["):
		return "a list"
	case strings.HasPrefix(t, "{"):
		return "a struct"
	}
	return "a value"
}

// Closest is the candidate nearest bad, when one is close enough to be a
// likely misspelling of it; "" otherwise.
func Closest(bad string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		if c == bad {
			continue
		}
		d := editDistance(strings.ToLower(bad), strings.ToLower(c))
		limit := 2
		if utf8.RuneCountInString(c) <= 4 {
			limit = 1
		}
		if d <= limit && (best == "" || d < bestD || d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, with a swap
// of two neighbours counted as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// userPos is the first position of e outside the embedded schema, or the
// first position when all are in the schema.
func userPos(e cueerrors.Error) token.Pos {
	ps := cueerrors.Positions(e)
	for _, p := range ps {
		if f := p.Position().Filename; f != "" && !strings.HasPrefix(f, "schema/") {
			return p
		}
	}
	if len(ps) > 0 {
		return ps[0]
	}
	return e.Position()
}

func isSchema(p token.Pos) bool {
	return strings.HasPrefix(p.Position().Filename, "schema/")
}

// unquoted returns CUE's path elements as the labels a user wrote:
// `"php-app"` is php-app, as in gitopsc's own messages.
func unquoted(p []string) []string {
	out := make([]string, len(p))
	for i, l := range p {
		if strings.HasPrefix(l, `"`) {
			if u, err := strconv.Unquote(l); err == nil {
				l = u
			}
		}
		out[i] = l
	}
	return out
}

func cuePath(p []string) string {
	if len(p) > 0 && p[0] == "#Root" {
		p = p[1:]
	}
	return strings.Join(unquoted(p), ".")
}

// ShortPath joins path with dots, eliding the middle of a very deep one:
// a mistake 5,000 levels down is still one readable line.
func ShortPath(path []string) string {
	const keep = 4
	if len(path) <= 2*keep+1 {
		return strings.Join(path, ".")
	}
	return fmt.Sprintf("%s.…(%d more).%s", strings.Join(path[:keep], "."), len(path)-2*keep, strings.Join(path[len(path)-keep:], "."))
}

// maxMessage bounds one message; CUE quotes whole values in conflicts.
const maxMessage = 1000

func withPath(path, msg string) string {
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + fmt.Sprintf("… (%d more bytes)", len(msg)-cut)
	}
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

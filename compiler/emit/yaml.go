package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// encodeYAML writes v, a value decoded from JSON with UseNumber, as block
// YAML: mapping keys sorted, sequences of mappings in the "- key: value"
// style at their key's indentation, strings plain where YAML 1.1 and 1.2
// both read them back as the same string and double-quoted otherwise.
// It replaces a round trip through a YAML library, which dominated the
// cost of a build.
func encodeYAML(buf *bytes.Buffer, v any) {
	if m, ok := v.(map[string]any); ok {
		v = toObject(m)
	}
	writeTree(buf, v, atTop, 0)
}

// place is where a value is written: the document itself, the value of a
// mapping entry whose key sits at the given column, or a sequence item
// whose "-" sits there. The caller has written the key and colon, or the
// dash.
type place uint8

const (
	atTop place = iota
	inMap
	inList
)

func indent(buf *bytes.Buffer, n int) {
	for i := 0; i < n; i++ {
		buf.WriteByte(' ')
	}
}

// begin writes what precedes the first entry of a non-empty mapping, or
// sequence if seq, at p and ind, and returns the column of its entries:
// a mapping under a key is indented two more, a sequence under a key sits
// at the key's column, and either in a sequence item starts after "- ".
// The first entry is written with no indentation, the others after
// indent(buf, column).
func begin(buf *bytes.Buffer, p place, ind int, seq bool) int {
	switch p {
	case inMap:
		buf.WriteByte('\n')
		if !seq {
			ind += 2
		}
		indent(buf, ind)
		return ind
	case inList:
		buf.WriteByte(' ')
		return ind + 2
	}
	return 0
}

// space writes what separates a one-line value at p from its key or dash.
func space(buf *bytes.Buffer, p place) {
	if p != atTop {
		buf.WriteByte(' ')
	}
}

// writeLine writes a one-line value at p: "null", "{}" or "[]".
func writeLine(buf *bytes.Buffer, p place, s string) {
	space(buf, p)
	buf.WriteString(s)
	buf.WriteByte('\n')
}

// writeTree writes v, a tree of objects, []any and scalars, at p and ind.
func writeTree(buf *bytes.Buffer, v any, p place, ind int) {
	switch t := v.(type) {
	case object:
		if len(t) == 0 {
			writeLine(buf, p, "{}")
			return
		}
		ind = begin(buf, p, ind, false)
		for i, kv := range t {
			if i > 0 {
				indent(buf, ind)
			}
			writeString(buf, kv.key)
			buf.WriteByte(':')
			writeTree(buf, kv.val, inMap, ind)
		}
	case []any:
		if len(t) == 0 {
			writeLine(buf, p, "[]")
			return
		}
		ind = begin(buf, p, ind, true)
		for i, item := range t {
			if i > 0 {
				indent(buf, ind)
			}
			buf.WriteByte('-')
			writeTree(buf, item, inList, ind)
		}
	case string:
		writeStringValue(buf, t, p, ind)
	default:
		space(buf, p)
		writeScalar(buf, v)
		buf.WriteByte('\n')
	}
}

// writeStringValue writes s as the value at p and ind: a literal block
// for a multi-line mapping value that blockSafe accepts, else one line.
func writeStringValue(buf *bytes.Buffer, s string, p place, ind int) {
	if p == inMap && blockSafe(s) {
		writeLiteral(buf, s, ind+2)
		return
	}
	space(buf, p)
	writeString(buf, s)
	buf.WriteByte('\n')
}

// writeLiteral writes s, a multi-line string blockSafe accepts, as a
// literal block scalar with its lines at column ind: a config file
// reads in the manifest, and in a diff, as it does on disk. "|" keeps
// the one final line break, "|-" says there is none.
func writeLiteral(buf *bytes.Buffer, s string, ind int) {
	body, ok := strings.CutSuffix(s, "\n")
	if ok {
		buf.WriteString(" |\n")
	} else {
		buf.WriteString(" |-\n")
	}
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" {
			indent(buf, ind)
			buf.WriteString(line)
		}
		buf.WriteByte('\n')
	}
}

// blockSafe reports whether s, holding a line break, reads back the same
// from a literal block scalar: valid UTF-8 with no characters YAML takes
// for line breaks or forbids (but tab), a first line that does not start
// with a space (the block's indentation is read from it), no line ending
// in a space or tab, and at most one final line break.
func blockSafe(s string) bool {
	if !strings.Contains(s, "\n") || strings.HasSuffix(s, "\n\n") || s == "\n" || !utf8.ValidString(s) {
		return false
	}
	if first := strings.TrimLeft(s, "\n"); first == "" || first[0] == ' ' || first[0] == '\t' {
		return false
	}
	for i, r := range s {
		switch {
		case r == '\n':
			if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
				return false
			}
		case r == '\t':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff:
			return false
		}
	}
	last := s[len(s)-1]
	return last != ' ' && last != '\t'
}

func writeScalar(buf *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(t))
	case json.Number:
		buf.WriteString(t.String())
	case float64:
		buf.WriteString(strconv.FormatFloat(t, 'g', -1, 64))
	case string:
		writeString(buf, t)
	default:
		writeString(buf, fmt.Sprint(t))
	}
}

func writeString(buf *bytes.Buffer, s string) {
	if plainSafe(s) {
		buf.WriteString(s)
		return
	}
	writeQuoted(buf, s)
}

// writeQuoted writes s as a YAML double-quoted scalar, escaping what YAML
// does not allow raw: control characters, DEL, C1 controls, Unicode line
// separators, the byte order mark and invalid UTF-8.
func writeQuoted(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf.WriteString("\\x")
			buf.WriteByte(hex[s[i]>>4])
			buf.WriteByte(hex[s[i]&0xf])
			i++
			continue
		case r == '"':
			buf.WriteString("\\\"")
		case r == '\\':
			buf.WriteString("\\\\")
		case r == '\n':
			buf.WriteString("\\n")
		case r == '\t':
			buf.WriteString("\\t")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff:
			// YAML allows neither noncharacter raw.
			fmt.Fprintf(buf, "\\u%04x", r)
		default:
			buf.WriteString(s[i : i+size])
		}
		i += size
	}
	buf.WriteByte('"')
}

// plainSafe reports whether s can be written unquoted: it starts with no
// indicator, holds no ": " or " #", no control characters or line
// breaks, and no YAML 1.1 or 1.2 resolver would read it as a bool, null,
// number or timestamp.
func plainSafe(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	switch s[0] {
	case '-', '?', ':':
		// "-x", "?x" and ":x" are plain; "- x", "---" and a lone "-" are not.
		if len(s) == 1 || s[1] == ' ' || strings.HasPrefix(s, "---") {
			return false
		}
	case '.':
		if strings.HasPrefix(s, "...") {
			return false
		}
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '~', '=':
		return false
	}
	last := s[len(s)-1]
	if last == ' ' || last == ':' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			// Non-ASCII text is quoted: simpler than deciding which
			// runes YAML allows unquoted, and rare in manifests.
			return false
		}
		if c == ':' && i+1 < len(s) && s[i+1] == ' ' {
			return false
		}
		if c == '#' && i > 0 && s[i-1] == ' ' {
			return false
		}
	}
	return !resolvesToNonString(s)
}

var yamlWords = map[string]bool{}

func init() {
	for _, w := range []string{"y", "yes", "n", "no", "true", "false", "on", "off", "null",
		".inf", "-.inf", "+.inf", ".nan"} {
		yamlWords[w] = true
	}
}

// resolvesToNonString reports whether a YAML 1.1 or 1.2 parser would read
// the plain scalar s as something other than a string.
func resolvesToNonString(s string) bool {
	if len(s) <= 5 && yamlWords[strings.ToLower(s)] {
		return true
	}
	c := s[0]
	if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' {
		return false
	}
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseFloat(plain, 64); err == nil {
		return true
	}
	// Sexagesimal numbers (YAML 1.1: 1:20) and timestamps (2001-12-14).
	digitsColons, dashes := true, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9', s[i] == ':', s[i] == '.', s[i] == '_':
		case s[i] == '-':
			dashes++
		default:
			digitsColons = false
		}
	}
	if digitsColons && (strings.Contains(s, ":") || dashes == 2) {
		return true
	}
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' && isDigits(s[:4]) && isDigits(s[5:7]) && isDigits(s[8:10]) {
		return true
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

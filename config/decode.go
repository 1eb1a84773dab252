package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pmsync/pmsync/connectors"
)

var (
	durationType = reflect.TypeOf(time.Duration(0))
	scheduleType = reflect.TypeOf(Schedule{})
	priorityType = reflect.TypeOf(connectors.Priority(""))
)

// decoder walks a yaml.Node tree into Go values by their yaml tags,
// reporting unknown keys, wrong types and bad scalars with path and line.
// Values already in the destination (the defaults) stay unless the file
// sets them; a list or map in the file replaces the default as a whole.
type decoder struct {
	c *collector
}

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's type for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!bool":
			return "true/false"
		case "!!int", "!!float":
			return "a number"
		case "!!null":
			return "nothing"
		}
		return fmt.Sprintf("the string %q", clip(n.Value))
	}
	return "something else"
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// fail records a problem found while decoding path; validation then
// stays quiet about path and everything under it.
func (d *decoder) fail(path, format string, args ...any) {
	d.c.bad[path] = true
	d.c.add(d.c.line(path), path, format, args...)
}

// value decodes n into v (settable) at path.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	switch t := v.Type(); {
	case t == durationType:
		if s, ok := d.scalar(n, path, "a duration such as 2m, 36h or 7d"); ok {
			dur, err := ParseDuration(s)
			if err != nil {
				d.fail(path, "%v", err)
				return
			}
			v.SetInt(int64(dur))
		}
	case t == scheduleType:
		if s, ok := d.scalar(n, path, "a cron schedule such as \"0 9 * * MON\""); ok {
			sched, err := ParseSchedule(s)
			if err != nil {
				d.fail(path, "%v", err)
				return
			}
			v.Set(reflect.ValueOf(sched))
		}
	case t == priorityType:
		if s, ok := d.scalar(n, path, "a priority (P0..P4)"); ok {
			if p, ok := d.priority(s, n.Line, path); ok {
				v.SetString(string(p))
			}
		}
	case t == secretType:
		d.fail(path, "internal: secret decoded as a value")
	default:
		d.byKind(n, path, v)
	}
}

func (d *decoder) byKind(n *yaml.Node, path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
			d.fail(path, "want a string, got %s (quote it: \"%s\")", describe(n), n.Value)
			return
		}
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.fail(path, "want an integer, got %s", describe(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil {
			d.fail(path, "integer %s out of range", clip(n.Value))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			d.fail(path, "want a number, got %s", describe(n))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			d.fail(path, "invalid number %s", clip(n.Value))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.fail(path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, path, v.Elem())
	case reflect.Slice:
		d.slice(n, path, v)
	case reflect.Map:
		d.mapping(n, path, v)
	case reflect.Struct:
		d.structure(n, path, v)
	default:
		d.fail(path, "internal: cannot decode into %s", v.Type())
	}
}

// scalar returns the text of a scalar node, or reports that want was
// expected.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) priority(s string, line int, path string) (connectors.Priority, bool) {
	p := connectors.Priority(s)
	if p == "" || !p.Valid() {
		d.fail(path, "unknown priority %q (want P0, P1, P2, P3 or P4)", clip(s))
		return "", false
	}
	return p, true
}

func (d *decoder) slice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, "want a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := index(path, i)
		d.c.lines[p] = item.Line
		d.value(item, p, out.Index(i))
	}
	v.Set(out)
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "want a map, got %s", describe(n))
		return
	}
	kt := v.Type().Key()
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		if kn == nil || kn.Kind != yaml.ScalarNode {
			d.c.add(n.Content[i].Line, path, "map keys must be plain strings")
			continue
		}
		p := join(path, kn.Value)
		if first, dup := seen[kn.Value]; dup {
			d.c.add(kn.Line, p, "key written twice (first on line %d)", first)
			continue
		}
		seen[kn.Value] = kn.Line
		d.c.lines[p] = kn.Line
		key := reflect.New(kt).Elem()
		if kt == priorityType {
			pr, ok := d.priority(kn.Value, kn.Line, p)
			if !ok {
				continue
			}
			key.SetString(string(pr))
		} else {
			key.SetString(kn.Value)
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(vn, p, elem)
		out.SetMapIndex(key, elem)
	}
	v.Set(out)
}

// field is one key a struct accepts.
type field struct {
	index  int
	secret string // for a Secret field: "env" or "file"
}

// structFields lists the keys a struct type accepts: its yaml tags, and
// for each Secret field NAME the keys NAME_env and NAME_file.
func structFields(t reflect.Type) (keys map[string]field, secrets map[string]bool) {
	keys = map[string]field{}
	secrets = map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		if f.Type == secretType {
			secrets[name] = true
			keys[name+"_env"] = field{index: i, secret: "env"}
			keys[name+"_file"] = field{index: i, secret: "file"}
			continue
		}
		keys[name] = field{index: i}
	}
	return keys, secrets
}

func (d *decoder) structure(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "want a map of keys, got %s", describe(n))
		return
	}
	keys, secrets := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		if kn == nil || kn.Kind != yaml.ScalarNode {
			d.c.add(n.Content[i].Line, path, "keys must be plain strings")
			continue
		}
		name := kn.Value
		p := join(path, name)
		if first, dup := seen[name]; dup {
			d.c.add(kn.Line, p, "key written twice (first on line %d)", first)
			continue
		}
		seen[name] = kn.Line
		d.c.lines[p] = kn.Line
		if kn.ShortTag() == "!!merge" {
			d.fail(p, "YAML merge keys (<<) are not supported; write the keys out or use an alias for the whole value")
			continue
		}
		if secrets[name] {
			d.fail(p, "a secret must never be written in the config file: put it in an environment variable and set %s_env: VARIABLE_NAME, or in a file and set %s_file: /path/to/file", name, name)
			continue
		}
		f, ok := keys[name]
		if !ok {
			d.fail(p, "%s", unknownKey(name, keys))
			continue
		}
		if f.secret != "" {
			base := strings.TrimSuffix(name, "_"+f.secret)
			d.secret(kn, vn, p, base, f.secret, v.Field(f.index).Addr().Interface().(*Secret))
			continue
		}
		d.value(vn, p, v.Field(f.index))
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// looksLikeToken catches a token pasted where a variable name belongs, so
// that it is never echoed in an error.
var looksLikeToken = regexp.MustCompile(`^(ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat|ATATT|xox[abp])|^.{65,}$`)

func (d *decoder) secret(kn, vn *yaml.Node, p, name, how string, s *Secret) {
	vn = resolve(vn)
	if isNull(vn) {
		return
	}
	if vn.Kind != yaml.ScalarNode || vn.ShortTag() == "!!bool" {
		d.fail(p, "want a string, got %s", describeSafe(vn))
		return
	}
	val := strings.TrimSpace(vn.Value)
	if val == "" {
		d.fail(p, "must not be empty (remove the key if there is no %s)", name)
		return
	}
	if (how == "env" && s.File != "") || (how == "file" && s.Env != "") {
		d.fail(p, "set %s_env or %s_file, not both", name, name)
		return
	}
	base := strings.TrimSuffix(strings.TrimSuffix(p, "_env"), "_file")
	switch how {
	case "env":
		if !envNameRE.MatchString(val) || looksLikeToken.MatchString(val) {
			d.fail(p, "not an environment variable name (letters, digits and _); %s_env names the variable that holds the secret, it is not the secret itself", name)
			return
		}
		s.Env = val
	case "file":
		s.File = val
	}
	s.path, s.line = base, vn.Line
}

// describeSafe is describe without quoting the value, for secret keys.
func describeSafe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!bool" && n.ShortTag() != "!!null" && n.ShortTag() != "!!int" && n.ShortTag() != "!!float" {
		return "a string"
	}
	return describe(n)
}

// secretish are key names that hold credentials elsewhere; an unknown key
// with such a name gets a hint about *_env and *_file.
var secretish = map[string]bool{
	"token": true, "password": true, "passwd": true, "secret": true, "webhook_secret": true,
	"api_key": true, "apikey": true, "api_token": true, "chat_webhook": true, "marker_key": true,
	"user": true, "username": true, "key": true, "private_key": true,
}

func unknownKey(name string, keys map[string]field) string {
	known := make([]string, 0, len(keys))
	for k := range keys {
		known = append(known, k)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("unknown key %q", clip(name))
	if best := closest(name, known); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	} else {
		msg += fmt.Sprintf(" (known keys here: %s)", strings.Join(known, ", "))
	}
	if secretish[strings.ToLower(name)] {
		msg += "; secrets are never written in the config file: name an environment variable with <key>_env or a file with <key>_file where a secret key is accepted"
	}
	return msg
}

// closest returns the known key within edit distance 2 of name, if any.
func closest(name string, known []string) string {
	if len(name) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

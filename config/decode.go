package config

import (
	"fmt"
	"reflect"
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

package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration file. It names the file, the line
// and the key path (customers[1].tracker.kind) so that a reader can go
// straight to it. Its message never contains a secret value.
type Error struct {
	File string // the name given to Parse or Load
	Line int    // 1-based; 0 when unknown
	Path string // key path from the document root; "" for the whole file
	Msg  string
}

// Error renders "file:line: path: msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one configuration, in line order.
// Parse and Load return it as their error; errors.As finds it, and each
// element is also reachable with errors.As(err, **Error).
type ErrorList []*Error

// Error renders one problem per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the elements, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// maxErrors bounds how many problems one Parse reports; after that the
// rest of the file is rarely worth reading.
const maxErrors = 50

// collector gathers problems with their positions.
type collector struct {
	file  string
	errs  ErrorList
	lines map[string]int  // key path → line where it was written
	bad   map[string]bool // key paths that failed to decode
}

func newCollector(file string) *collector {
	return &collector{file: file, lines: map[string]int{"": 1}, bad: map[string]bool{}}
}

// add records a problem at an explicit line.
func (c *collector) add(line int, path, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		return
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errf records a problem at path, at the line where path (or its nearest
// written ancestor) appears in the file. It stays quiet when path or an
// ancestor already failed to decode: one mistake, one message.
func (c *collector) errf(path, format string, args ...any) {
	for p := path; ; p = parentPath(p) {
		if c.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	c.add(c.line(path), path, format, args...)
}

// line finds where path, or the closest ancestor written in the file, is.
func (c *collector) line(path string) int {
	for {
		if l, ok := c.lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

// result returns the problems sorted by line, or nil.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
	return c.errs
}

// parentPath strips the last ".key" or "[n]" from a key path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// join appends key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends [i] to a path.
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

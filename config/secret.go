package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// redacted is what every rendering of a set Secret prints.
const redacted = "[REDACTED]"

// maxSecretFile bounds the size of a *_file secret; a token, password or
// webhook URL is never larger.
const maxSecretFile = 64 << 10

// Secret is a credential read from an environment variable (KEY_env) or a
// file (KEY_file), never from the YAML itself. It prints as [REDACTED] in
// every format, in JSON and in slog, so a Config can be logged without
// leaking; only Value returns the secret.
type Secret struct {
	// Env is the name of the environment variable the value comes from.
	Env string
	// File is the path of the file the value comes from (trimmed of
	// surrounding white space).
	File string

	// value is behind a pointer so that even fmt's raw struct printing
	// (used for bad verbs, where methods are not called) shows an address.
	value *string
	path  string // key path in the file, for errors
	line  int
}

// Value returns the secret itself. Pass it only to the code that
// authenticates; never log it or put it in an error.
func (s Secret) Value() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// NewSecret returns a Secret holding value, for configurations built in
// code (the demo, tests) rather than read from a file.
func NewSecret(value string) Secret { return Secret{value: &value} }

// IsSet reports whether the secret has a value or names a source for one.
func (s Secret) IsSet() bool { return s.Env != "" || s.File != "" || s.value != nil }

// Source describes where the secret comes from ("env PLATFORM_TOKEN",
// "file /run/secrets/token") or returns "" when it is not set. It is safe
// to print.
func (s Secret) Source() string {
	switch {
	case s.Env != "":
		return "env " + s.Env
	case s.File != "":
		return "file " + s.File
	}
	return ""
}

// String returns [REDACTED] for a set secret and "" otherwise.
func (s Secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return redacted
}

// GoString is like String, for %#v.
func (s Secret) GoString() string { return "config.Secret(" + s.String() + ")" }

// Format makes every fmt verb print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the redacted form (YAML, XML and friends).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue makes slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var secretType = reflect.TypeOf(Secret{})

// resolveSecrets reads every Secret reachable from v (a pointer to a
// struct) from its environment variable or file. Relative file paths are
// taken from dir.
func resolveSecrets(c *collector, v reflect.Value, env func(string) (string, bool), dir string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			resolveSecrets(c, v.Elem(), env, dir)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			resolveSecrets(c, v.Index(i), env, dir)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			s := v.Addr().Interface().(*Secret)
			resolveSecret(c, s, env, dir)
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				resolveSecrets(c, v.Field(i), env, dir)
			}
		}
	}
}

func resolveSecret(c *collector, s *Secret, env func(string) (string, bool), dir string) {
	switch {
	case s.Env != "":
		p := s.path + "_env"
		v, ok := env(s.Env)
		if !ok {
			c.add(s.line, p, "environment variable %s is not set", s.Env)
			return
		}
		v = strings.TrimSpace(v)
		if v == "" {
			c.add(s.line, p, "environment variable %s is empty", s.Env)
			return
		}
		s.value = &v
	case s.File != "":
		p := s.path + "_file"
		name := s.File
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		v, err := readSecretFile(name)
		if err != nil {
			c.add(s.line, p, "%v", err)
			return
		}
		s.value = &v
	}
}

// readSecretFile reads a small secret file and trims it. Its errors name
// the file, never its content.
func readSecretFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read secret file %s: %w", name, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("secret file %s is larger than %d bytes", name, maxSecretFile)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", name)
	}
	return v, nil
}

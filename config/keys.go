package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file holds the decoding of secret keys (KEY_env, KEY_file) and the
// messages for unknown keys.

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// looksLikeToken catches a token pasted where a variable name belongs, so
// that it is never echoed in an error.
var looksLikeToken = regexp.MustCompile(`^(ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat|ATATT|xox[abp])|^.{65,}$`)

// secret records where secret name comes from (how is "env" or "file");
// the value itself is read later by resolveSecrets.
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

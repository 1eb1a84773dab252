package jirafake

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jqlQuery is a parsed query of the supported subset.
type jqlQuery struct {
	clauses []clause
	order   []orderKey
	bounded bool // restricted to a project, as Cloud's /search/jql requires
}

type clause struct {
	field  string // project, labels, key, created, updated
	op     string // = != in "not in" >= > <= <
	values []string
	at     time.Time // date fields: the instant the value names
}

type orderKey struct {
	field string
	desc  bool
}

var (
	jqlTokenRE = regexp.MustCompile(`\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|!=|>=|<=|!~|[=<>~(),]|[^\s=<>~!(),"']+)`)
	relDateRE  = regexp.MustCompile(`^([-+]?)(\d+)([wdhm])$`)
)

// jqlError is Jira's 400 for a query it cannot run.
type jqlError struct{ msg string }

func (e *jqlError) Error() string { return e.msg }

func jqlErrorf(format string, args ...any) error {
	return &jqlError{msg: fmt.Sprintf(format, args...)}
}

func tokenize(q string) ([]string, error) {
	var toks []string
	rest := strings.TrimSpace(q)
	for rest != "" {
		m := jqlTokenRE.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, jqlErrorf("Error in the JQL Query: the character '%c' is a reserved JQL character.", rest[0])
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = strings.TrimSpace(rest[m[1]:])
	}
	return toks, nil
}

// parseJQL parses q; dates are read in loc, relative dates from now.
func (s *Server) parseJQL(q string, loc *time.Location, now time.Time) (*jqlQuery, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &jqlParser{toks: toks}
	out := &jqlQuery{}
	for p.more() && !p.keyword("ORDER") {
		if len(out.clauses) > 0 {
			switch {
			case p.keyword("AND"):
				p.next()
			case p.keyword("OR"), p.keyword("NOT"):
				return nil, jqlErrorf("Error in the JQL Query: jirafake supports clauses joined by AND only (got %q).", p.peek())
			default:
				return nil, jqlErrorf("Error in the JQL Query: Expecting either 'OR' or 'AND' but got '%s'.", p.peek())
			}
		}
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		if err := s.checkClause(&c, loc, now); err != nil {
			return nil, err
		}
		if c.field == "project" && (c.op == "=" || c.op == "in") {
			out.bounded = true
		}
		out.clauses = append(out.clauses, c)
	}
	if p.more() {
		if out.order, err = p.orderBy(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type jqlParser struct {
	toks []string
	pos  int
}

func (p *jqlParser) more() bool   { return p.pos < len(p.toks) }
func (p *jqlParser) peek() string { return p.toks[p.pos] }
func (p *jqlParser) next() string {
	t := p.toks[p.pos]
	p.pos++
	return t
}
func (p *jqlParser) keyword(k string) bool { return p.more() && strings.EqualFold(p.peek(), k) }

func (p *jqlParser) clause() (clause, error) {
	if p.peek() == "(" {
		return clause{}, jqlErrorf("Error in the JQL Query: jirafake does not support parentheses.")
	}
	c := clause{field: strings.ToLower(unquote(p.next()))}
	if !p.more() {
		return c, jqlErrorf("Error in the JQL Query: Expecting operator but got the end of the query.")
	}
	switch op := strings.ToLower(p.next()); op {
	case "=", "!=", ">=", ">", "<=", "<":
		c.op = op
		if !p.more() {
			return c, jqlErrorf("Error in the JQL Query: Expecting either a value, list or function but got the end of the query.")
		}
		c.values = []string{unquote(p.next())}
	case "in", "not":
		if op == "not" {
			if !p.keyword("IN") {
				return c, jqlErrorf("Error in the JQL Query: Expecting 'IN' after 'NOT'.")
			}
			p.next()
			op = "not in"
		}
		c.op = op
		vals, err := p.list()
		if err != nil {
			return c, err
		}
		c.values = vals
	default:
		return c, jqlErrorf("Error in the JQL Query: jirafake does not support the operator '%s'.", op)
	}
	return c, nil
}

func (p *jqlParser) list() ([]string, error) {
	if !p.more() || p.next() != "(" {
		return nil, jqlErrorf("Error in the JQL Query: Expecting '(' after 'IN'.")
	}
	var vals []string
	for p.more() {
		vals = append(vals, unquote(p.next()))
		if !p.more() {
			break
		}
		switch p.next() {
		case ",":
			continue
		case ")":
			return vals, nil
		}
		break
	}
	return nil, jqlErrorf("Error in the JQL Query: Expecting ')' to close the list.")
}

func (p *jqlParser) orderBy() ([]orderKey, error) {
	p.next() // ORDER
	if !p.keyword("BY") {
		return nil, jqlErrorf("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
	}
	p.next()
	var keys []orderKey
	for p.more() {
		f := strings.ToLower(unquote(p.next()))
		switch f {
		case "updated", "created", "key", "issuekey", "id":
		default:
			return nil, jqlErrorf("Error in the JQL Query: jirafake cannot order by '%s'.", f)
		}
		k := orderKey{field: f}
		if p.keyword("ASC") || p.keyword("DESC") {
			k.desc = strings.EqualFold(p.next(), "DESC")
		}
		keys = append(keys, k)
		if !p.more() {
			break
		}
		if p.next() != "," {
			return nil, jqlErrorf("Error in the JQL Query: Expecting ',' between ORDER BY fields.")
		}
	}
	if len(keys) == 0 {
		return nil, jqlErrorf("Error in the JQL Query: Expecting a field name after 'ORDER BY'.")
	}
	return keys, nil
}

func unquote(t string) string {
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		t = t[1 : len(t)-1]
		return strings.NewReplacer(`\"`, `"`, `\'`, `'`, `\\`, `\`).Replace(t)
	}
	return t
}

// checkClause validates a clause against the site and resolves dates.
func (s *Server) checkClause(c *clause, loc *time.Location, now time.Time) error {
	switch c.field {
	case "project":
		if c.op != "=" && c.op != "in" && c.op != "!=" && c.op != "not in" {
			return jqlErrorf("Error in the JQL Query: The operator '%s' is not supported by the 'project' field.", c.op)
		}
		for _, v := range c.values {
			if !strings.EqualFold(v, s.opts.Project) && v != "10000" {
				return jqlErrorf("The value '%s' does not exist for the field 'project'.", v)
			}
		}
	case "labels":
		if c.op != "=" && c.op != "in" && c.op != "!=" && c.op != "not in" {
			return jqlErrorf("Error in the JQL Query: The operator '%s' is not supported by the 'labels' field.", c.op)
		}
	case "key", "issuekey", "id":
		c.field = "key"
	case "updated", "created", "updateddate", "createddate":
		c.field = strings.TrimSuffix(c.field, "date")
		if len(c.values) != 1 || (c.op != ">=" && c.op != ">" && c.op != "<=" && c.op != "<" && c.op != "=") {
			return jqlErrorf("Error in the JQL Query: jirafake supports only comparisons on '%s'.", c.field)
		}
		t, err := parseJQLDate(c.values[0], loc, now)
		if err != nil {
			return jqlErrorf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", c.values[0], c.field)
		}
		c.at = t
	default:
		return jqlErrorf("Field '%s' does not exist or you do not have permission to view it.", c.field)
	}
	return nil
}

// parseJQLDate reads a JQL date: absolute dates have minute precision and
// are in the user's zone; relative ones count from now.
func parseJQLDate(v string, loc *time.Location, now time.Time) (time.Time, error) {
	for _, layout := range []string{"2006/01/02 15:04", "2006-01-02 15:04", "2006/01/02", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	m := relDateRE.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, fmt.Errorf("bad date %q", v)
	}
	n, _ := strconv.Atoi(m[2])
	unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[3]]
	d := time.Duration(n) * unit
	if m[1] == "-" {
		d = -d
	}
	// Relative dates are minute-grained too.
	return now.Add(d).Truncate(time.Minute), nil
}

// match reports whether an (indexed) issue satisfies every clause.
func (q *jqlQuery) match(it *issue) bool {
	for _, c := range q.clauses {
		if !c.match(it) {
			return false
		}
	}
	return true
}

func (c clause) match(it *issue) bool {
	switch c.field {
	case "project":
		return c.op == "=" || c.op == "in"
	case "labels":
		has := slices.ContainsFunc(c.values, func(v string) bool {
			return slices.ContainsFunc(it.labels, func(l string) bool { return strings.EqualFold(l, v) })
		})
		return has == (c.op == "=" || c.op == "in")
	case "key":
		if c.op == "=" || c.op == "in" || c.op == "!=" || c.op == "not in" {
			has := slices.ContainsFunc(c.values, func(v string) bool {
				return strings.EqualFold(v, it.key) || v == strconv.Itoa(it.id)
			})
			return has == (c.op == "=" || c.op == "in")
		}
		n := keyNumber(c.values[0])
		return compare(it.num, n, c.op)
	case "updated", "created":
		t := it.updated
		if c.field == "created" {
			t = it.created
		}
		return compare(t.Compare(c.at), 0, c.op)
	}
	return false
}

func compare(a, b int, op string) bool {
	switch op {
	case ">=":
		return a >= b
	case ">":
		return a > b
	case "<=":
		return a <= b
	case "<":
		return a < b
	case "=":
		return a == b
	}
	return false
}

func keyNumber(k string) int {
	_, num, _ := strings.Cut(k, "-")
	n, _ := strconv.Atoi(num)
	return n
}

// less orders two issues by the query's ORDER BY (default: key descending),
// with the id as the final tie-break.
func (q *jqlQuery) less(a, b *issue) bool {
	order := q.order
	if len(order) == 0 {
		order = []orderKey{{field: "key", desc: true}}
	}
	for _, k := range order {
		var c int
		switch k.field {
		case "updated":
			c = a.updated.Compare(b.updated)
		case "created":
			c = a.created.Compare(b.created)
		default:
			c = a.num - b.num
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.id < b.id
}

// Command benchreport turns `go test -bench` output (on stdin) into the
// table that `make bench` prints: one row per benchmark, one column per
// reported metric (ns/op, B/op, allocs/op and every custom metric such as
// requests/op or p99-ms).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

type row struct {
	pkg, name string
	metrics   map[string]string
}

func main() {
	rows, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results on stdin")
		os.Exit(1)
	}
	write(os.Stdout, rows)
}

// parse reads benchmark lines ("BenchmarkX-2  1  123 ns/op  4.0 requests/op")
// and the "pkg:" lines that name their package.
func parse(r io.Reader) ([]row, error) {
	var rows []row
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/pmsync/pmsync/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		rw := row{pkg: pkg, name: trimProcs(f[0]), metrics: map[string]string{}}
		for i := 2; i+1 < len(f); i += 2 {
			rw.metrics[f[i+1]] = f[i]
		}
		rows = append(rows, rw)
	}
	return rows, sc.Err()
}

func trimProcs(name string) string {
	if i := strings.LastIndex(name, "-"); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		return name[:i]
	}
	return name
}

func write(w io.Writer, rows []row) {
	seen := map[string]bool{}
	var units []string
	for _, r := range rows {
		for u := range r.metrics {
			if !seen[u] {
				seen[u] = true
				units = append(units, u)
			}
		}
	}
	sort.Slice(units, func(i, j int) bool {
		return rank(units[i]) < rank(units[j]) || rank(units[i]) == rank(units[j]) && units[i] < units[j]
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "package\tbenchmark\t")
	for _, u := range units {
		fmt.Fprintf(tw, "%s\t", u)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t", r.pkg, strings.TrimPrefix(r.name, "Benchmark"))
		for _, u := range units {
			v := r.metrics[u]
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// rank puts the standard columns last so the project's own metrics lead.
func rank(unit string) int {
	switch unit {
	case "ns/op":
		return 1
	case "B/op":
		return 2
	case "allocs/op":
		return 3
	}
	return 0
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseAndWrite(t *testing.T) {
	in := `goos: linux
pkg: github.com/pmsync/pmsync/connectors/github
BenchmarkIdlePoll-2   	     100	     51234 ns/op	         1.000 requests/op	    4096 B/op	      52 allocs/op
BenchmarkCreate-2     	      10	    912345 ns/op	         2.000 requests/op
PASS
pkg: github.com/pmsync/pmsync/store
BenchmarkPutLink-2    	    5000	      2100 ns/op	       412.0 bytes/link
`
	rows, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	if rows[0].pkg != "connectors/github" || rows[0].name != "BenchmarkIdlePoll" || rows[0].metrics["requests/op"] != "1.000" {
		t.Errorf("row 0: got %+v", rows[0])
	}
	if rows[2].metrics["bytes/link"] != "412.0" {
		t.Errorf("row 2: got %+v", rows[2])
	}
	var out bytes.Buffer
	write(&out, rows)
	text := out.String()
	for _, want := range []string{"requests/op", "bytes/link", "IdlePoll", "PutLink", "store"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	// The benchmark's own metrics come before ns/op.
	if strings.Index(text, "requests/op") > strings.Index(text, "ns/op") {
		t.Errorf("custom metrics should lead:\n%s", text)
	}
}

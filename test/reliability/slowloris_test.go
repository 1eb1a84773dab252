package reliability

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSlowloris opens many connections to pmsync serve's listener that
// trickle their headers or their body a byte at a time, and meanwhile
// sends valid deliveries. Bar: every valid delivery is accepted with p99
// under 1 s, and the server cuts a client that trickles its headers within
// its header timeout (10 s) rather than holding the connection forever.
func TestSlowloris(t *testing.T) {
	sims := StartSims(t, SimOptions{})
	d, _, _, _ := startDaemon(t, sims)
	u, err := url.Parse(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	const headerTricklers, bodyTricklers = 150, 50
	stop := make(chan struct{})
	var wg sync.WaitGroup
	cut := make(chan time.Duration, headerTricklers)
	trickle := func(prefix string, body bool) {
		defer wg.Done()
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Errorf("dial: %v", err)
			return
		}
		defer conn.Close()
		start := time.Now()
		if _, err := io.WriteString(conn, prefix); err != nil {
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			b := "X"
			if !body {
				b = "x" // an endless header name
			}
			if _, err := io.WriteString(conn, b); err != nil {
				if !body {
					cut <- time.Since(start)
				}
				return
			}
		}
	}
	for i := 0; i < headerTricklers; i++ {
		wg.Add(1)
		go trickle("POST /webhooks/janecorp HTTP/1.1\r\nHost: "+u.Host+"\r\nX-Slow-", false)
	}
	for i := 0; i < bodyTricklers; i++ {
		wg.Add(1)
		go trickle("POST /webhooks/janecorp HTTP/1.1\r\nHost: "+u.Host+"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", true)
	}
	<-time.After(300 * time.Millisecond) // the attack is under way

	st := sims.Trackers[JaneCorp]
	var lat []time.Duration
	for i := 0; i < 40; i++ {
		r, err := st.HookRequest(d.URL(), st.HookBody(1), fmt.Sprintf("slowloris-valid-%d", i), HookValid, false)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code, body := post(t, r)
		lat = append(lat, time.Since(start))
		if code != http.StatusAccepted {
			t.Errorf("valid delivery %d during the attack: HTTP %d %q, want 202", i, code, body)
		}
		<-time.After(50 * time.Millisecond)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	if p99 > time.Second {
		t.Errorf("valid deliveries during the attack: p99 %v, want under 1 s", p99)
	}

	// The server must drop header tricklers at its header timeout.
	var first time.Duration
	select {
	case first = <-cut:
	case <-time.After(15 * time.Second):
		t.Errorf("no connection trickling its headers was cut within 15 s: the server has no header timeout")
	}
	close(stop)
	wg.Wait()
	t.Logf("%d header and %d body tricklers; valid deliveries p50 %v p99 %v; first trickler cut after %v",
		headerTricklers, bodyTricklers, p50.Round(time.Microsecond), p99.Round(time.Microsecond), first.Round(time.Millisecond))
}

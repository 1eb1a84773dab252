package connectors

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config is everything a connector needs to reach one tracker. The config
// package reads it from YAML; secrets arrive here already resolved from env
// or files and must never be logged or put in an error.
type Config struct {
	ID      string // tracker id: "platform" or the customer id
	Kind    string // github | gitlab | jira | memory
	URL     string // API base (GitHub), instance URL (GitLab), site URL (Jira); "" = public default
	Flavor  string // jira only: cloud | datacenter
	Project string // GitHub owner/repo, GitLab group/project or numeric id, Jira project key
	Token   string // API token / PAT
	User    string // Jira Cloud: account e-mail for basic auth
	// WebhookSecret authenticates deliveries. Empty means webhooks for this
	// tracker are refused.
	WebhookSecret string
	Labels        LabelScheme
	// JiraIssueType is the issue type of created Jira items (default "Task").
	JiraIssueType string
	// JiraPriorities maps canonical priorities to Jira priority names
	// (default Highest, High, Medium, Low, Lowest).
	JiraPriorities map[Priority]string
	// JiraDoneTransition / JiraWontDoResolution override transition and
	// resolution names chosen by status category.
	JiraDoneTransition   string
	JiraWontDoResolution string
	// GitHubCreatesPerMinute and GitHubCreatesPerHour are the secondary
	// limits on content creation the GitHub connector paces itself to; 0
	// means GitHubCreatesPerMinute / GitHubCreatesPerHour (the hourly one
	// scaled with a raised per-minute limit).
	GitHubCreatesPerMinute int
	GitHubCreatesPerHour   int
	// Overlap is how far before the cursor each incremental poll re-reads
	// (clock skew, coarse timestamps). Default 2 minutes.
	Overlap time.Duration
	// HTTPClient is the client to use; nil means a client with sane
	// timeouts. Tests put simulators behind it.
	HTTPClient *http.Client
	// RootCAs are the certificate authorities the tracker's TLS
	// certificate must chain to: the system roots plus the tracker's
	// ca_file (SystemRootsWith). nil means the system roots.
	RootCAs *x509.CertPool
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GitHub.com's secondary limits on content-creating requests (new issues
// and new comments): "no more than 80 content-generating requests per
// minute and no more than 500 per hour". GitHub Enterprise Server admins
// set their own.
const (
	GitHubCreatesPerMinute = 80
	GitHubCreatesPerHour   = 500
)

// Clock returns c.Now or time.Now.
func (c Config) Clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Log returns c.Logger or a logger that discards.
func (c Config) Log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Client is HTTP without the error: when RootCAs cannot be applied it
// returns c.HTTPClient as it is, which then refuses the tracker's
// certificate.
func (c Config) Client() *http.Client {
	hc, _ := c.HTTP()
	return hc
}

// HTTP returns the tracker's HTTP client: c.HTTPClient, or a client with a
// 30 s timeout on a transport of its own that requires MinTLSVersion. With
// RootCAs set, the client's TLS connections trust those authorities
// (WithTLS); it is an error when c.HTTPClient's transport cannot be given
// them. Connectors set the client's CheckRedirect (SameHostRedirects).
func (c Config) HTTP() (*http.Client, error) {
	if c.HTTPClient == nil {
		rt, ok := WithTLS(nil, c.RootCAs)
		if !ok {
			return nil, fmt.Errorf("connectors: tracker %q: http.DefaultTransport (%T) takes no TLS settings", c.ID, http.DefaultTransport)
		}
		return &http.Client{Timeout: 30 * time.Second, Transport: rt}, nil
	}
	if c.RootCAs == nil {
		return c.HTTPClient, nil
	}
	rt, ok := WithTLS(c.HTTPClient.Transport, c.RootCAs)
	if !ok {
		return c.HTTPClient, fmt.Errorf("connectors: tracker %q: ca_file cannot be used: the HTTP transport (%T) is neither an *http.Transport nor a connectors.TLSTransport", c.ID, c.HTTPClient.Transport)
	}
	hc := *c.HTTPClient
	hc.Transport = rt
	return &hc, nil
}

// MinTLSVersion is the oldest TLS version a tracker connection accepts.
const MinTLSVersion = tls.VersionTLS12

// TLSTransport is a transport that wraps another, such as a caller's
// metrics layer. WithTLS returns a copy of it over a base that WithTLS
// (the function) made from its own, or false when it cannot.
type TLSTransport interface {
	WithTLS(roots *x509.CertPool) (http.RoundTripper, bool)
}

// WithTLS returns a copy of rt whose TLS connections require MinTLSVersion
// and, when roots is not nil, trust exactly roots: an *http.Transport (nil
// means http.DefaultTransport) is cloned, a TLSTransport copies itself. It
// returns false for any other transport, and for an *http.Transport that
// makes its TLS connections itself (DialTLSContext).
func WithTLS(rt http.RoundTripper, roots *x509.CertPool) (http.RoundTripper, bool) {
	if rt == nil {
		rt = http.DefaultTransport
	}
	switch t := rt.(type) {
	case *http.Transport:
		if t.DialTLSContext != nil {
			return nil, false
		}
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.MinVersion = max(t.TLSClientConfig.MinVersion, MinTLSVersion)
		if roots != nil {
			t.TLSClientConfig.RootCAs = roots
		}
		return t, true
	case TLSTransport:
		return t.WithTLS(roots)
	}
	return nil, false
}

// SystemRootsWith returns the system's certificate authorities plus those
// of the PEM bundle pem (a tracker's ca_file), for Config.RootCAs. It is an
// error when pem holds no certificate.
func SystemRootsWith(pem []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in it")
	}
	return pool, nil
}

// MaxRedirects is how many redirects in a row a tracker's client follows.
const MaxRedirects = 5

// ErrRedirect matches (errors.Is) the error of a redirect that
// SameHostRedirects did not follow.
var ErrRedirect = errors.New("redirect refused")

type redirectError struct{ why string }

func (e *redirectError) Error() string        { return "redirect refused: " + e.why }
func (e *redirectError) Is(target error) bool { return target == ErrRedirect }

// SameHostRedirects is the CheckRedirect of every tracker's HTTP client.
// It follows a redirect only to the scheme, host and port of base, the
// tracker's configured URL, and at most MaxRedirects in a row. Connectors
// add the credential in a transport below the client (go-github's and
// go-jira's auth transports, GitLab's PRIVATE-TOKEN header), so net/http's
// removal of Authorization on a redirect to another host would not keep
// it there; and a redirect from https to http would send it in the clear.
// For any other redirect the client returns an error that RedirectError
// classifies.
func SameHostRedirects(base *url.URL) func(*http.Request, []*http.Request) error {
	scheme, host := strings.ToLower(base.Scheme), hostPort(base)
	return func(req *http.Request, via []*http.Request) error {
		switch {
		case strings.ToLower(req.URL.Scheme) != scheme:
			return &redirectError{"from " + scheme + ":// to another scheme"}
		case hostPort(req.URL) != host:
			return &redirectError{"to another host"}
		case len(via) > MaxRedirects:
			return &redirectError{fmt.Sprintf("more than %d in a row", MaxRedirects)}
		}
		return nil
	}
}

// hostPort is u's lower-case host with its port, the scheme's default
// when u names none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// RedirectError returns the classified error for a redirect that
// SameHostRedirects refused inside err, labelled with op, or nil. Its text
// says why, never where the redirect pointed: a Location may carry
// signatures or internal names.
func RedirectError(op string, err error) *Error {
	var re *redirectError
	if !errors.As(err, &re) {
		return nil
	}
	return &Error{Code: CodeInvalid, Op: op, Err: fmt.Errorf("%w; check the tracker's url", re)}
}

// OverlapOrDefault returns c.Overlap or 2 minutes.
func (c Config) OverlapOrDefault() time.Duration {
	if c.Overlap > 0 {
		return c.Overlap
	}
	return 2 * time.Minute
}

// Factory builds a connector from its config.
type Factory func(Config) (Connector, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes a tracker kind available. It is called from the one list
// in connectors/all; registering a kind twice panics.
func Register(kind string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("connectors: kind registered twice: " + kind)
	}
	registry[kind] = f
}

// New builds the connector for cfg.Kind.
func New(cfg Config) (Connector, error) {
	regMu.RLock()
	f, ok := registry[cfg.Kind]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connectors: tracker %q: unknown kind %q (known: %v)", cfg.ID, cfg.Kind, Registered())
	}
	return f(cfg)
}

// Registered lists the registered tracker kinds, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TransportError classifies the failure of a request that got no answer
// (err from an HTTP client) as temporary. Its text leaves out the request
// URL, says when the tracker's TLS certificate was refused, and keeps the
// cause reachable for errors.Is (context.Canceled and friends).
func TransportError(op string, err error) *Error {
	cause := err
	var ue *url.Error
	for errors.As(cause, &ue) && ue.Err != nil {
		cause = ue.Err
	}
	var (
		unknownCA x509.UnknownAuthorityError
		refused   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(cause, &unknownCA):
		cause = fmt.Errorf("the tracker's TLS certificate is not trusted (%w); if a private CA issued it, set the tracker's ca_file", cause)
	case errors.As(cause, &refused):
		cause = fmt.Errorf("the tracker's TLS certificate was refused: %w", cause)
	default:
		cause = fmt.Errorf("transport: %w", cause)
	}
	return &Error{Code: CodeTemporary, Op: op, Err: cause}
}

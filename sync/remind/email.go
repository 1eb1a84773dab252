package remind

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig says how to reach the mail server. Secrets arrive resolved
// from env or files and never appear in errors or logs.
type SMTPConfig struct {
	Host string
	Port int    // default 587 (starttls), 465 (tls) or 25 (none)
	From string // envelope and header sender
	// TLS is "starttls" (default: STARTTLS is required), "tls" (implicit
	// TLS, usually port 465) or "none" (plain text; for a local relay).
	TLS      string
	User     string // "" for no authentication
	Password string
	// Auth is the SASL mechanism when User is set: "plain" (default) or
	// "login".
	Auth string
	// Timeout bounds one delivery (connect to QUIT); default 30 s.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests use it for a private CA).
	TLSConfig *tls.Config
}

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	cfg  SMTPConfig
	opts []gomail.Option
	now  func() time.Time
	log  *slog.Logger
}

// NewMailer checks cfg and returns a Mailer. now stamps the Date header
// (nil: time.Now).
func NewMailer(cfg SMTPConfig, now func() time.Time, log *slog.Logger) (*Mailer, error) {
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("smtp.host: empty")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp.from: %q is not an e-mail address", cfg.From)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp.port: %d is not a port", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	port := cfg.Port
	switch strings.ToLower(cfg.TLS) {
	case "", "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		port = orPort(port, 587)
	case "tls":
		opts = append(opts, gomail.WithSSL())
		port = orPort(port, 465)
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		port = orPort(port, 25)
	default:
		return nil, fmt.Errorf("smtp.tls: %q is not starttls, tls or none", cfg.TLS)
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(cfg.TLSConfig))
	}
	if cfg.User != "" {
		mech := gomail.SMTPAuthPlain
		switch strings.ToLower(cfg.Auth) {
		case "", "plain":
		case "login":
			mech = gomail.SMTPAuthLogin
		default:
			return nil, fmt.Errorf("smtp.auth: %q is not plain or login", cfg.Auth)
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(cfg.User), gomail.WithPassword(cfg.Password))
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Mailer{cfg: cfg, opts: opts, now: now, log: log}, nil
}

func orPort(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// To returns a deliverer of messages to one address.
func (m *Mailer) To(addr string) (Deliverer, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("e-mail recipient %q is not an address", addr)
	}
	return &mailTo{m: m, to: a.Address}, nil
}

type mailTo struct {
	m  *Mailer
	to string
}

// Deliver sends one multipart/alternative message (text and HTML) to one
// address. Its Message-ID is derived from the send key, so a receiving
// system can recognise a repeat. A failure before the end of DATA is
// temporary or permanent as the server says; a connection lost while
// waiting for the answer to the end of DATA may have delivered the message.
func (d *mailTo) Deliver(ctx context.Context, msg *Message) error {
	m := gomail.NewMsg()
	if err := m.From(d.m.cfg.From); err != nil {
		return Permanent(fmt.Errorf("e-mail: from address: %w", err))
	}
	if err := m.To(d.to); err != nil {
		return Permanent(fmt.Errorf("e-mail: recipient %s: %w", d.to, err))
	}
	m.Subject(msg.Subject)
	m.SetMessageIDWithValue(messageID(msg.Key, d.to))
	m.SetDateWithValue(d.m.now())
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetUserAgent("pmsync")
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	c, err := gomail.NewClient(d.m.cfg.Host, d.m.opts...)
	if err != nil {
		return Permanent(fmt.Errorf("e-mail: client for %s: %w", d.m.cfg.Host, err))
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("e-mail: connect to %s: %w", d.m.cfg.Host, err)
	}
	err = c.SendWithSMTPClient(sc, m)
	// The message's fate is decided by the answer to DATA: a failure to
	// close the connection afterwards changes nothing.
	if cerr := c.CloseWithSMTPClient(sc); cerr != nil {
		d.m.log.Debug("smtp: close connection", "host", d.m.cfg.Host, "err", cerr)
	}
	if err != nil {
		return classifySMTP(fmt.Errorf("e-mail to %s via %s: %w", d.to, d.m.cfg.Host, err))
	}
	return nil
}

// classifySMTP marks err by what go-mail says of it.
func classifySMTP(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return err // no SMTP answer yet: temporary
	}
	switch {
	case se.Reason == gomail.ErrAmbiguous,
		se.Reason == gomail.ErrSMTPDataClose && se.ErrorCode() == 0:
		return MaybeDelivered(err)
	case se.IsTemp():
		return err
	}
	return Permanent(err)
}

// messageID derives a stable Message-ID from the send key and recipient.
func messageID(key, to string) string {
	h := sha256.Sum256([]byte(key + "\x00" + to))
	return hex.EncodeToString(h[:16]) + "@pmsync"
}

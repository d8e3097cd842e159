// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: it keeps every message it accepts, counts deliveries
// by Message-ID, can require AUTH, speak STARTTLS or implicit TLS with a
// certificate of its own, refuse messages with a chosen reply, drop the
// connection after the end of data, or stop (an outage).
//
// Invariant: a message is counted as delivered exactly when the server
// accepted it, which is what "sent once" is measured against.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Security modes, as shared/mail/smtpclient names them.
const (
	None     = "none"
	StartTLS = "starttls"
	TLS      = "tls"
)

// Options configure a server.
type Options struct {
	Security           string // None (default), StartTLS or TLS
	Username, Password string // non-empty: AUTH PLAIN is required
}

// Message is one accepted message.
type Message struct {
	From      string
	To        []string
	Data      []byte
	MessageID string
	Header    mail.Header
}

// Server is a running SMTP server.
type Server struct {
	Host    string
	Port    int
	RootCAs *x509.CertPool // trusts the server's certificate (TLS modes)

	opt  Options
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	// failures: replies for the next DATA commands (after the content).
	failures []*smtp.SMTPError
	dropNext int
	rcptFail map[string]*smtp.SMTPError
	stopped  bool
}

// Start runs a server until the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{opt: opt, Host: "127.0.0.1", rcptFail: map[string]*smtp.SMTPError{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 20 << 20
	s.srv.MaxRecipients = 100
	s.srv.AllowInsecureAuth = opt.Security == None
	var err error
	if opt.Security == StartTLS || opt.Security == TLS {
		cert, pool := selfSigned(t)
		s.RootCAs = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if opt.Security == TLS {
		s.ln, err = tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	} else {
		s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Port = s.ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.srv.Serve(&outageListener{Listener: s.ln, s: s}) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// outageListener keeps the port while the server is stopped and drops
// every connection at once: an outage that no other test's server can
// answer for by reusing the port.
type outageListener struct {
	net.Listener
	s *Server
}

func (l *outageListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		down := l.s.stopped
		l.s.mu.Unlock()
		if !down {
			return c, nil
		}
		_ = c.Close()
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Stop makes the server drop every new connection at once (an outage); it
// keeps its port, so the outage is not healed by another server taking it.
func (s *Server) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

// FailNext makes the next n messages be refused after their content with
// code (e.g. 451 for a temporary, 554 for a permanent refusal).
func (s *Server) FailNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failures = append(s.failures, &smtp.SMTPError{Code: code, Message: "refused by the test"})
	}
}

// RefuseRecipient makes RCPT TO addr fail with code.
func (s *Server) RefuseRecipient(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptFail[addr] = &smtp.SMTPError{Code: code, Message: "no such mailbox"}
}

// DropAfterData makes the server accept the next n messages and then close
// the connection without answering: the client cannot know it was taken.
func (s *Server) DropAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext += n
}

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Deliveries counts accepted messages by Message-ID.
func (s *Server) Deliveries() map[string]int {
	out := map[string]int{}
	for _, m := range s.Messages() {
		out[m.MessageID]++
	}
	return out
}

// WaitFor polls until n messages were accepted or the deadline passes.
func (s *Server) WaitFor(t testing.TB, n int, within time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ms := s.Messages(); len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages within %v, want %d", len(s.Messages()), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	to   []string
	auth bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opt.Username || password != ss.s.opt.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opt.Username != "" && !ss.auth {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	e := ss.s.rcptFail[to]
	ss.s.mu.Unlock()
	if e != nil {
		return e
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if len(ss.s.failures) > 0 {
		e := ss.s.failures[0]
		ss.s.failures = ss.s.failures[1:]
		return e
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b}
	if pm, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
		m.Header = pm.Header
		m.MessageID = pm.Header.Get("Message-Id")
	}
	ss.s.msgs = append(ss.s.msgs, m)
	if ss.s.dropNext > 0 {
		ss.s.dropNext--
		_ = ss.conn.Close()
		return errors.New("connection dropped by the test")
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

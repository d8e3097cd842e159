package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	bodyLimitKey
	clientAddrKey
)

// ClientAddr is the address the request came from, for the security events
// and logs: the last X-Forwarded-For entry when there is one (the address
// the nearest proxy — the Application Gateway, the Functions front end —
// saw; entries before it are the client's own claims), else the peer.
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey).(string)
	return a
}

func withClientAddr(ctx context.Context, a string) context.Context {
	return context.WithValue(ctx, clientAddrKey, a)
}

func clientAddr(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if last = strings.TrimSpace(last); last != "" {
			if host, _, err := net.SplitHostPort(last); err == nil {
				return host
			}
			return last
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// RequestID returns the request id of the request the context belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request's logger (with its request id), or the default
// logger outside a request.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithRequest returns ctx carrying a request id and a logger that logs it;
// used by the middleware and by non-HTTP invocations that want the same.
func WithRequest(ctx context.Context, id string, log *slog.Logger) context.Context {
	ctx = context.WithValue(ctx, requestIDKey, id)
	return context.WithValue(ctx, loggerKey, log.With("requestId", id))
}

// A caller-supplied request id is echoed into logs and headers, so it must
// be short and plain: no spaces, quotes or control characters.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func acceptRequestID(s string) (string, bool) {
	if requestIDPattern.MatchString(s) {
		return s, true
	}
	return "", false
}

// IncomingRequestID returns the caller's X-Request-Id when it is well
// formed, else a fresh id. The devhost uses it too, so one id follows a
// request from the host through the handler.
func IncomingRequestID(h interface{ Get(string) string }) string {
	if id, ok := acceptRequestID(h.Get("X-Request-Id")); ok {
		return id
	}
	return NewRequestID()
}

// NewRequestID returns a fresh random id (128 bits, hex).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

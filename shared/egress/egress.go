package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Resolver answers DNS for outbound calls; *net.Resolver has it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// blockedRange is a range refused unless an allow-list names it.
type blockedRange struct {
	prefix netip.Prefix
	why    string
}

func mustPrefixes(why string, ps ...string) []blockedRange {
	out := make([]blockedRange, 0, len(ps))
	for _, p := range ps {
		out = append(out, blockedRange{netip.MustParsePrefix(p), why})
	}
	return out
}

// blocked are the ranges an environment's allow-list may open.
var blocked = slices.Concat(
	mustPrefixes("loopback", "127.0.0.0/8", "::1/128"),
	mustPrefixes("private", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
	mustPrefixes("link-local", "169.254.0.0/16", "fe80::/10"),
	mustPrefixes("multicast", "224.0.0.0/4", "ff00::/8"),
	mustPrefixes("shared address space (CGNAT)", "100.64.0.0/10"),
	mustPrefixes("reserved", "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "2001:db8::/32", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64"),
	// [::127.0.0.1]: IPv4-compatible IPv6, deprecated (RFC 4291 2.5.5.1);
	// a stack that still routes it reaches the embedded IPv4 address.
	mustPrefixes("IPv4-compatible IPv6", "::/96"),
)

// never are addresses no allow-list opens: the unspecified address (it
// reaches the local host) and the cloud metadata and platform endpoints,
// which would hand out the app's own credentials.
var never = map[netip.Addr]string{
	netip.MustParseAddr("0.0.0.0"):         "unspecified",
	netip.MustParseAddr("::"):              "unspecified",
	netip.MustParseAddr("169.254.169.254"): "cloud metadata",
	netip.MustParseAddr("168.63.129.16"):   "Azure platform endpoint",
	netip.MustParseAddr("fd00:ec2::254"):   "cloud metadata",
}

// neverWhy says why a is on the never-list, looking through the IPv6 forms
// that embed an IPv4 address (IPv4-compatible ::a.b.c.d and NAT64
// 64:ff9b::a.b.c.d), so that no allow-list opens the metadata endpoint
// under another spelling.
func neverWhy(a netip.Addr) (string, bool) {
	if why, ok := never[a]; ok {
		return why, true
	}
	if a.Is6() && !a.IsUnspecified() {
		b := a.As16()
		for _, p := range embedding {
			if p.Contains(a) {
				v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
				if why, ok := never[v4]; ok {
					return why, true
				}
			}
		}
	}
	return "", false
}

var embedding = []netip.Prefix{netip.MustParsePrefix("::/96"), netip.MustParsePrefix("64:ff9b::/96")}

// NeverHost refuses a URL host that is a literal address on the never-list
// (cloud metadata, the Azure platform endpoint, the unspecified address),
// in any spelling: what a caller saves (a health or callback URL) is
// refused when saved, not only when dialled. Names are left to the dialer,
// which checks what they resolve to at connect time.
func NeverHost(host string) error {
	h := strings.Trim(host, "[]")
	if i := strings.LastIndex(h, "%"); i >= 0 {
		h = h[:i]
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return nil
	}
	a = a.Unmap()
	if a.IsUnspecified() {
		return &RefusedError{a, "unspecified"}
	}
	if why, ok := neverWhy(a); ok {
		return &RefusedError{a, why}
	}
	return nil
}

// CoversAll says whether the union of prefixes is every IPv4 address or
// every IPv6 address: an allow-list that wide (0.0.0.0/1 with 128.0.0.0/1,
// ::/1 with 8000::/1) switches the protection off as /0 would.
func CoversAll(prefixes []netip.Prefix) bool {
	for _, v4 := range []bool{true, false} {
		var ps []netip.Prefix
		for _, p := range prefixes {
			if p.Addr().Is4() == v4 {
				ps = append(ps, p.Masked())
			}
		}
		if covers(ps, v4) {
			return true
		}
	}
	return false
}

func covers(ps []netip.Prefix, v4 bool) bool {
	if len(ps) == 0 {
		return false
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	first := netip.IPv6Unspecified()
	if v4 {
		first = netip.IPv4Unspecified()
	}
	if ps[0].Addr() != first {
		return false
	}
	end := lastOf(ps[0])
	for _, p := range ps[1:] {
		if !end.IsValid() || !end.Next().IsValid() {
			return true // the end of the space is reached
		}
		if p.Addr().Compare(end.Next()) > 0 {
			return false // a gap
		}
		if l := lastOf(p); l.Compare(end) > 0 {
			end = l
		}
	}
	return !end.Next().IsValid()
}

// lastOf is the last address of p.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Metadata reports whether a is a cloud metadata or platform endpoint
// (the never-list less the unspecified addresses): a call aimed there is an
// attempt at the app's own credentials, alerted on at once.
func Metadata(a netip.Addr) bool {
	why, ok := never[a.Unmap()]
	return ok && why != "unspecified"
}

// RefusedError is an outbound address the policy refuses.
type RefusedError struct {
	Addr netip.Addr
	Why  string
}

// Error names the address and why it is refused (never credentials).
func (e *RefusedError) Error() string {
	return fmt.Sprintf("address %s is refused (%s)", e.Addr, e.Why)
}

// Policy decides which addresses outbound calls may connect to.
type Policy struct{ allow []netip.Prefix }

// NewPolicy builds a policy that opens the given CIDR prefixes (callers
// validate them first; one that does not parse opens nothing).
func NewPolicy(allow []string) Policy {
	var p Policy
	for _, a := range allow {
		if pr, err := netip.ParsePrefix(a); err == nil {
			p.allow = append(p.allow, pr.Masked())
		}
	}
	return p
}

// Local is the policy of a developer's machine, where the Work Portal
// stand-in, test servers and callbacks live on loopback and private
// addresses: every range is open except the never-list (metadata
// endpoints, the unspecified address).
func Local() Policy { return NewPolicy([]string{"0.0.0.0/0", "::/0"}) }

// Key identifies the allow-list, for sharing a transport per policy.
func (p Policy) Key() string {
	parts := make([]string, len(p.allow))
	for i, a := range p.allow {
		parts[i] = a.String()
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// Check returns a *RefusedError for an address calls may not reach.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	if why, ok := neverWhy(a); ok {
		return &RefusedError{a, why}
	}
	if a.IsUnspecified() {
		return &RefusedError{a, "unspecified"}
	}
	for _, al := range p.allow {
		if al.Contains(a) {
			return nil
		}
	}
	for _, b := range blocked {
		if b.prefix.Contains(a) {
			return &RefusedError{a, b.why + "; allow it in the environment's connector settings if intended"}
		}
	}
	return nil
}

// Dialer connects only to addresses the policy accepts. It resolves the
// host itself (with the injected resolver) and checks the address actually
// being connected in net.Dialer.Control, after resolution and immediately
// before connect(2): whatever a resolver answered to an earlier check, the
// connection cannot reach a refused address.
type Dialer struct {
	Policy   Policy
	Resolver Resolver // nil: net.DefaultResolver
	Timeout  time.Duration
}

func (d Dialer) resolver() Resolver {
	if d.Resolver == nil {
		return net.DefaultResolver
	}
	return d.Resolver
}

func (d Dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("egress: cannot check address %q: %w", address, err)
	}
	return d.Policy.Check(ap.Addr())
}

// DialContext resolves address and connects to the first acceptable IP;
// the Control hook refuses any other.
func (d Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		ips = []netip.Addr{ip}
	} else {
		if ips, err = d.resolver().LookupNetIP(ctx, "ip", host); err != nil {
			return nil, fmt.Errorf("egress: resolving %s: %w", host, err)
		}
	}
	nd := net.Dialer{Timeout: d.Timeout, Control: d.control}
	var errs []error
	for _, ip := range ips {
		conn, err := nd.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("egress: %s has no addresses", host)
	}
	return nil, errors.Join(errs...)
}

// Precheck resolves host and refuses it early when every address is
// refused, for a clear error before any connection; the binding check is
// the dialer's, at connect time.
func (d Dialer) Precheck(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return d.Policy.Check(ip)
	}
	ips, err := d.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("egress: resolving %s: %w", host, err)
	}
	var first error
	for _, ip := range ips {
		err := d.Policy.Check(ip)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// Client is an HTTP client for calls to customers' endpoints (a Scheduler,
// a Work Portal, a task callback): it connects only where the policy lets
// it, follows redirects only to the same host (at most 3), takes no proxy
// from the environment (a proxy would be dialled instead of the checked
// address), and gives up after timeout.
func Client(p Policy, timeout time.Duration) *http.Client {
	d := Dialer{Policy: p, Timeout: timeout}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, Timeout: timeout, CheckRedirect: SameHost}
}

// SameHost is a redirect policy: at most 3 redirects, all to the host of
// the first request.
func SameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

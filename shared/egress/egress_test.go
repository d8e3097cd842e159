package egress_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/egress"
)

// TestPolicy: the address table, one row per rule.
func TestPolicy(t *testing.T) {
	none := egress.NewPolicy(nil)
	tenOpen := egress.NewPolicy([]string{"10.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8"})
	ulaOpen := egress.NewPolicy([]string{"fc00::/7", "fe80::/10"}) // IPv6 private and link-local opened
	cases := []struct {
		addr    string
		p       egress.Policy
		refused bool
	}{
		{"93.184.216.34", none, false},
		{"2606:4700::1111", none, false},
		{"127.0.0.1", none, true}, {"127.8.8.8", none, true}, {"::1", none, true},
		{"10.1.2.3", none, true}, {"172.16.0.1", none, true}, {"172.31.255.255", none, true}, {"172.32.0.1", none, false},
		{"192.168.1.1", none, true}, {"fd12::1", none, true},
		{"169.254.169.254", none, true}, {"169.254.10.10", none, true}, {"fe80::1", none, true},
		{"224.0.0.1", none, true}, {"ff02::1", none, true},
		{"100.64.0.1", none, true}, {"0.0.0.0", none, true}, {"::", none, true}, {"255.255.255.255", none, true},
		{"::ffff:10.0.0.1", none, true}, {"64:ff9b::7f00:1", none, true}, {"168.63.129.16", none, true},
		{"10.1.2.3", tenOpen, false}, {"169.254.10.10", tenOpen, false},
		{"169.254.169.254", tenOpen, true}, {"0.0.0.0", tenOpen, true}, {"11.0.0.1", tenOpen, false}, {"192.168.1.1", tenOpen, true},
		// Local (a developer's machine) opens every range but the never-list.
		{"127.0.0.1", egress.Local(), false}, {"10.1.2.3", egress.Local(), false}, {"::1", egress.Local(), false},
		{"169.254.169.254", egress.Local(), true}, {"168.63.129.16", egress.Local(), true}, {"0.0.0.0", egress.Local(), true},
		// IPv6 metadata (AWS's fd00:ec2::254 inside fc00::/7): refused even
		// where an allow-list opens its range, and in its mapped forms.
		{"fd00:ec2::254", none, true}, {"fd00:ec2::254", ulaOpen, true}, {"fd00:ec2::254", egress.Local(), true},
		{"fd00:ec2::253", ulaOpen, false}, {"fe80::1", ulaOpen, false}, {"::", egress.Local(), true},
		{"::ffff:169.254.169.254", egress.Local(), true}, {"::ffff:168.63.129.16", egress.Local(), true},
		// IPv4-compatible IPv6 (issue 19, finding 7): ::/96 is refused, and
		// no allow-list opens the metadata endpoint spelt that way or
		// through NAT64.
		{"::127.0.0.1", none, true}, {"::8.8.8.8", none, true}, {"::a9fe:a9fe", none, true},
		{"::169.254.169.254", egress.Local(), true}, {"64:ff9b::a9fe:a9fe", egress.Local(), true},
		{"::168.63.129.16", egress.Local(), true},
	}
	for _, c := range cases {
		err := c.p.Check(netip.MustParseAddr(c.addr))
		if (err != nil) != c.refused {
			t.Errorf("%s: refused=%v (%v), want %v", c.addr, err != nil, err, c.refused)
		}
	}
}

// TestCoversAll (issue 19, finding 7): an allow-list whose union is every
// address of a family opens what the /0 rule refuses.
func TestCoversAll(t *testing.T) {
	for _, c := range []struct {
		list []string
		want bool
	}{
		{[]string{"0.0.0.0/0"}, true}, {[]string{"::/0"}, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, true}, {[]string{"::/1", "8000::/1"}, true},
		{[]string{"128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"}, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"}, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/2"}, false}, {[]string{"0.0.0.0/1", "192.0.0.0/2"}, false},
		{[]string{"0.0.0.0/1", "::/1", "8000::/2"}, false},
		{[]string{"10.0.0.0/8", "fc00::/7"}, false}, {nil, false},
		{[]string{"0.0.0.0/1", "0.0.0.0/2", "128.0.0.0/1"}, true},
	} {
		var ps []netip.Prefix
		for _, s := range c.list {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		if got := egress.CoversAll(ps); got != c.want {
			t.Errorf("%v: covers all %v, want %v", c.list, got, c.want)
		}
	}
}

// TestNeverHost: a saved URL whose host is a metadata address, in any
// spelling, is refused when saved; names and other addresses are left to
// the dialer.
func TestNeverHost(t *testing.T) {
	for host, refused := range map[string]bool{
		"169.254.169.254": true, "[::ffff:169.254.169.254]": true, "[::169.254.169.254]": true, "[fd00:ec2::254]": true,
		"168.63.129.16": true, "0.0.0.0": true, "[::]": true, "[64:ff9b::a9fe:a9fe]": true,
		"127.0.0.1": false, "portal.example.com": false, "10.0.0.5": false, "[fe80::1%25eth0]": false,
	} {
		if err := egress.NeverHost(host); (err != nil) != refused {
			t.Errorf("%s: %v, want refused %v", host, err, refused)
		}
	}
}

// BenchmarkPolicyCheck: the connect-time check runs once per dialled
// address; it must cost nothing next to a TCP connect.
func BenchmarkPolicyCheck(b *testing.B) {
	p := egress.NewPolicy([]string{"10.1.0.0/16"})
	addrs := []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("2606:4700::1111")}
	for b.Loop() {
		for _, a := range addrs {
			_ = p.Check(a)
		}
	}
}

// TestClientRefusesAtConnect: the client used for customers' endpoints
// cannot reach a loopback server under the strict policy (the refusal names
// the address), reaches it under Local, and does not follow a redirect to
// another host.
func TestClientRefusesAtConnect(t *testing.T) {
	hits := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			// The same server under another host name: another host.
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusFound)
			return
		}
		hits++
	}))
	defer srv.Close()
	_, err := egress.Client(egress.NewPolicy(nil), 5*time.Second).Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "address 127.0.0.1 is refused (loopback") {
		t.Fatalf("strict policy: %v", err)
	}
	if hits != 0 {
		t.Fatal("the refused server was reached")
	}
	resp, err := egress.Client(egress.Local(), 5*time.Second).Get(srv.URL)
	if err != nil || resp.StatusCode != 200 || hits != 1 {
		t.Fatalf("local policy: %v %v hits %d", resp, err, hits)
	}
	resp.Body.Close()
	resp, err = egress.Client(egress.Local(), 5*time.Second).Get(srv.URL + "/redirect")
	if err != nil || resp.StatusCode != http.StatusFound || hits != 1 {
		t.Fatalf("redirect to another host was followed: %v %v hits %d", resp, err, hits)
	}
	resp.Body.Close()
}

// rebinding answers a public address first and loopback after: the dialer
// must refuse on the address it connects to.
type rebinding struct{ n int }

func (r *rebinding) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.n++
	if r.n == 1 {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func TestDialerChecksTheConnectedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := egress.Dialer{Policy: egress.NewPolicy(nil), Resolver: &rebinding{}, Timeout: 2 * time.Second}
	if err := d.Precheck(context.Background(), "rebind.example"); err != nil {
		t.Fatalf("precheck of the public answer: %v", err)
	}
	_, err = d.DialContext(context.Background(), "tcp", net.JoinHostPort("rebind.example", port))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1 is refused") {
		t.Fatalf("dial after the rebind: %v", err)
	}
}

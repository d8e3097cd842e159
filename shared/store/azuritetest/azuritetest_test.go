package azuritetest

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestServerListensOnLoopbackAndStops(t *testing.T) {
	srv := Fresh(t)
	for _, p := range []int{srv.BlobPort, srv.QueuePort, srv.TablePort} {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil {
			t.Fatalf("port %d not listening: %v", p, err)
		}
		c.Close()
	}
	if srv.Key == "" || srv.Account != "devstoreaccount1" {
		t.Fatalf("account %q key empty=%v", srv.Account, srv.Key == "")
	}
	_ = srv.Stop()
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("azurite still running after Stop")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(srv.TablePort), time.Second); err == nil {
		c.Close()
		t.Fatal("table port still accepts after Stop")
	}
}

func TestSharedServerIsReused(t *testing.T) {
	a, b := Server(t), Server(t)
	if a != b {
		t.Fatal("Server started two emulators")
	}
	if Fresh(t) == a {
		t.Fatal("Fresh returned the shared emulator")
	}
}

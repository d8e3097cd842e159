package conns

import (
	"net"
	"net/http"
	"time"
)

// Pool returns a transport that keeps up to perHost idle connections to
// each host and never opens more than perHost at once to one host.
func Pool(perHost int) *http.Transport {
	perHost = max(perHost, 1)
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * perHost, // storage is three hosts (tables, blobs, queues), plus Key Vault
		MaxIdleConnsPerHost:   perHost,
		MaxConnsPerHost:       perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// StorageFanOut is how many storage connections the pool allows per
// request in flight. Most requests make one storage call at a time; a
// check-in makes up to 16 at once (shared/catalog pointWidth) and shares
// the pool with its neighbours, waiting for a connection rather than
// dialling past the cap.
const StorageFanOut = 4

// ForStorage is the pool of the storage clients of an instance serving up
// to inFlight requests at once.
func ForStorage(inFlight int) *http.Client {
	return &http.Client{Transport: Pool(max(inFlight, 1) * StorageFanOut)}
}

// Package standin is a STAND-IN for customers' Work Portals and Schedulers,
// for local runs (`make run` starts it through the devhost) and tests: it is
// not the Work Portal. Each path prefix is one component
// (/claims/development/portal, /claims/development/scheduler, …) with the
// endpoints deployments use:
//
//	GET  {prefix}/health       200 when up; 503 for RestartDelay after a restart, or while broken
//	POST {prefix}/restart      202; counts the restart
//	POST {prefix}/deployments  200; records the deployment (repeats of one Idempotency-Key count once)
//	POST {prefix}/break|fix    make health fail or recover (to demo a failed window)
//	POST {prefix}/<anything>   200 (a Scheduler's job calls), after CallDelay; a
//	                           call whose Idempotency-Key it already performed
//	                           answers 200 {"status":"duplicate"} and is not
//	                           performed again, one still in progress 409
//	GET  /                     every component's state as JSON
//
// A real Scheduler must de-duplicate job calls by their Idempotency-Key:
// programmed jobs are at least once (docs/jobs.md), and a call repeats after
// a takeover. The stand-in does what it must, so that local runs and tests
// count what a real one would perform.
//
// Invariant: it keeps everything in memory and forgets it on exit; it
// remembers the last MaxKeys job-call keys of each component.
package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Deployment is one deployment a component received.
type Deployment struct {
	Key     string    `json:"key"`
	Seq     int64     `json:"seq"`
	Mode    string    `json:"mode"`
	Changes int       `json:"changes"`
	At      time.Time `json:"at"`
}

// Component is the state of one stand-in Work Portal or Scheduler.
type Component struct {
	Restarts    int          `json:"restarts"`
	LastRestart time.Time    `json:"lastRestart,omitzero"`
	Deployments []Deployment `json:"deployments"`
	// Calls counts the job calls performed; DuplicateCalls those refused
	// because their Idempotency-Key was performed or in progress already.
	Calls          int  `json:"calls"`
	DuplicateCalls int  `json:"duplicateCalls"`
	Broken         bool `json:"broken"`
	// Failure switches for tests.
	FailDeploy  bool `json:"failDeploy,omitempty"`
	FailRestart bool `json:"failRestart,omitempty"`

	keys  map[string]*callKey // job-call keys remembered, at most MaxKeys
	order []string            // the keys, oldest first
}

// callKey is what the stand-in remembers of one job-call key.
type callKey struct {
	received int  // calls that carried it
	done     bool // performed (false: in progress)
}

// MaxKeys is how many job-call keys a component remembers.
const MaxKeys = 10000

// Server is the stand-in. Safe for concurrent use.
type Server struct {
	// RestartDelay is how long a component answers 503 after a restart.
	RestartDelay time.Duration
	Now          func() time.Time
	// OnRequest, when set, runs before each request is answered (tests use
	// it to act in the middle of a window).
	OnRequest func(prefix, action string)
	// CallDelay is how long a job call takes before it is answered (a slow
	// Scheduler, so that a test can kill its caller mid-call).
	CallDelay time.Duration

	mu    sync.Mutex
	comps map[string]*Component
}

// New returns a stand-in whose components are unhealthy for delay after a
// restart; now is its clock (nil: time.Now).
func New(delay time.Duration, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{RestartDelay: delay, Now: now, comps: map[string]*Component{}}
}

// Get returns a copy of a component's state (zero if never called).
func (s *Server) Get(prefix string) Component {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.comps[prefix]; ok {
		cp := *c
		cp.Deployments = append([]Deployment(nil), c.Deployments...)
		cp.keys, cp.order = nil, nil
		return cp
	}
	return Component{}
}

// CallKeys returns how many job calls carried each Idempotency-Key a
// component remembers (a count above 1 is a duplicate it refused).
func (s *Server) CallKeys(prefix string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	if c, ok := s.comps[prefix]; ok {
		for k, v := range c.keys {
			out[k] = v.received
		}
	}
	return out
}

// Set changes a component's state (tests: failure switches).
func (s *Server) Set(prefix string, f func(c *Component)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.comp(prefix))
}

func (s *Server) comp(prefix string) *Component {
	c, ok := s.comps[prefix]
	if !ok {
		c = &Component{Deployments: []Deployment{}}
		s.comps[prefix] = c
	}
	return c
}

// ServeHTTP implements the endpoints above.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && r.Method == http.MethodGet {
		s.mu.Lock()
		out := map[string]any{"standIn": "Work Portal / Scheduler stand-in (not the real Work Portal)", "components": s.comps}
		b, _ := json.MarshalIndent(out, "", "  ")
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	i := strings.LastIndex(r.URL.Path, "/")
	prefix, action := r.URL.Path[:i], r.URL.Path[i+1:]
	if prefix == "" {
		http.Error(w, "a component path is /<project>/<env>/<component>/<action>", http.StatusNotFound)
		return
	}
	if s.OnRequest != nil {
		s.OnRequest(prefix, action)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Method == http.MethodPost && !controlAction[action] {
		s.call(w, prefix, r.Header.Get("Idempotency-Key"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, now := s.comp(prefix), s.Now()
	switch {
	case action == "health" && r.Method == http.MethodGet:
		switch {
		case c.Broken:
			reply(w, http.StatusServiceUnavailable, "broken")
		case !c.LastRestart.IsZero() && now.Before(c.LastRestart.Add(s.RestartDelay)):
			reply(w, http.StatusServiceUnavailable, "restarting")
		default:
			reply(w, http.StatusOK, "ok")
		}
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case action == "restart":
		if c.FailRestart {
			reply(w, http.StatusInternalServerError, "restart refused")
			return
		}
		c.Restarts++
		c.LastRestart = now
		reply(w, http.StatusAccepted, "restarting")
	case action == "deployments":
		if c.FailDeploy {
			reply(w, http.StatusInternalServerError, "deployment refused")
			return
		}
		var d struct {
			Seq     int64             `json:"seq"`
			Mode    string            `json:"mode"`
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(body, &d); err != nil {
			reply(w, http.StatusBadRequest, "not a deployment")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		for _, old := range c.Deployments {
			if key != "" && old.Key == key {
				reply(w, http.StatusOK, "already deployed")
				return
			}
		}
		c.Deployments = append(c.Deployments, Deployment{Key: key, Seq: d.Seq, Mode: d.Mode, Changes: len(d.Changes), At: now})
		reply(w, http.StatusOK, "deployed")
	case action == "break":
		c.Broken = true
		reply(w, http.StatusOK, "broken")
	case action == "fix":
		c.Broken = false
		reply(w, http.StatusOK, "ok")
	}
}

// controlAction are the POST actions that are not job calls.
var controlAction = map[string]bool{"restart": true, "deployments": true, "break": true, "fix": true}

// call performs one job call: once per Idempotency-Key (a call without one
// is performed every time), after CallDelay. The call is performed even if
// its caller goes away meanwhile, as a real Scheduler would.
func (s *Server) call(w http.ResponseWriter, prefix, key string) {
	s.mu.Lock()
	c := s.comp(prefix)
	var k *callKey
	if key != "" {
		if old, ok := c.keys[key]; ok {
			old.received++
			c.DuplicateCalls++
			done := old.done
			s.mu.Unlock()
			if !done {
				reply(w, http.StatusConflict, "in progress")
				return
			}
			reply(w, http.StatusOK, "duplicate")
			return
		}
		k = &callKey{received: 1}
		if c.keys == nil {
			c.keys = map[string]*callKey{}
		}
		c.keys[key] = k
		c.order = append(c.order, key)
		if len(c.order) > MaxKeys {
			delete(c.keys, c.order[0])
			c.order = c.order[1:]
		}
	}
	delay := s.CallDelay
	s.mu.Unlock()
	if delay > 0 {
		<-time.After(delay) // the Scheduler's own work, not a wait for a condition
	}
	s.mu.Lock()
	c.Calls++
	if k != nil {
		k.done = true
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, "ok")
}

func reply(w http.ResponseWriter, status int, state string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": state})
}

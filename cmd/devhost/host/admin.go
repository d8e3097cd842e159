package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// admin serves the part of the host's admin API a developer needs:
// GET /admin/functions, POST /admin/functions/{name} {"input": "..."},
// GET /admin/host/status.
func (h *Host) admin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/admin/functions" && r.Method == http.MethodGet:
		h.listFunctions(w)
	case path == "/admin/host/status" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.status())
	case strings.HasPrefix(path, "/admin/functions/") && r.Method == http.MethodPost:
		h.fire(w, r, strings.TrimPrefix(path, "/admin/functions/"))
	case strings.HasPrefix(path, "/admin/functions"), path == "/admin/host/status":
		w.Header().Set("Allow", "GET, POST")
		problem(w, r, fault.MethodNotAllowed, r.Method+" is not allowed on "+path)
	default:
		problem(w, r, fault.NotFound, "no admin endpoint "+path)
	}
}

type functionInfo struct {
	Name     string   `json:"name"`
	Trigger  string   `json:"trigger"`
	Route    string   `json:"route,omitempty"`
	Methods  []string `json:"methods,omitempty"`
	Queue    string   `json:"queue,omitempty"`
	Schedule string   `json:"schedule,omitempty"`
	Status   string   `json:"status"`
	Next     string   `json:"next,omitempty"`
}

func (h *Host) listFunctions(w http.ResponseWriter) {
	out := []functionInfo{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.app.Functions {
		fi := functionInfo{Name: f.Name, Trigger: f.Kind, Queue: f.Queue, Schedule: f.Schedule, Methods: f.Methods, Status: "enabled"}
		if f.Route != nil {
			fi.Route = "/" + strings.Trim(h.app.Host.RoutePrefix+"/"+f.Route.Template, "/")
		}
		switch {
		case h.disabled(f):
			fi.Status = "disabled"
		case f.Kind == manifest.TimerTrigger:
			ts := h.timers[f.Name]
			fi.Status = ts.mode
			if !ts.next.IsZero() {
				fi.Next = ts.next.Format(time.RFC3339)
			}
		case f.Kind == manifest.QueueTrigger && !h.polling[f.Name]:
			fi.Status = "not polled"
		case f.Kind == manifest.ServiceBusTrigger && !h.polling[f.Name]:
			fi.Status = "not served"
		}
		out = append(out, fi)
	}
	writeJSON(w, http.StatusOK, out)
}

// fire runs a non-HTTP function by hand, as the real host's admin API does:
// 202 at once, the invocation in the background.
func (h *Host) fire(w http.ResponseWriter, r *http.Request, name string) {
	f := h.app.Function(name)
	if f == nil {
		problem(w, r, fault.NotFound, fmt.Sprintf("no function %q", name))
		return
	}
	if h.disabled(f) {
		problem(w, r, fault.Conflict, fmt.Sprintf("%s is disabled (AzureWebJobs.%s.Disabled)", name, name))
		return
	}
	if f.Kind == manifest.HTTPTrigger {
		problem(w, r, fault.Invalid, fmt.Sprintf("%s is an HTTP function: call its route", name))
		return
	}
	var body struct {
		Input string `json:"input"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(strings.TrimSpace(string(b))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			problem(w, r, fault.Invalid, `the body must be {"input": "..."}: `+err.Error())
			return
		}
	}
	// What the host's admin API hands the trigger: the input converted by
	// the extension (testdata/host/*.admin.jsonc in shared/fnhost).
	sys := h.sys(f)
	var payload []byte
	var err error
	switch f.Kind {
	case manifest.TimerTrigger:
		var ti fnhost.TimerInfo
		ti.Schedule.AdjustForDST = true
		payload, err = fnhost.TimerInvocation(f.Binding, ti, sys)
	case manifest.QueueTrigger:
		payload, err = fnhost.QueueInvocation(f.Binding, fnhost.QueueMessage{Text: body.Input, InsertionTime: time.Now()}, sys)
	case manifest.ServiceBusTrigger:
		payload, err = fnhost.ServiceBusInvocation(f.Binding, fnhost.ServiceBusMessage{Body: body.Input, ExpiresAt: time.Time(fnhost.MaxDateTime)}, sys)
	default:
		payload, err = fnhost.EncodeInvocation(map[string]any{f.Binding: body.Input}, nil, sys)
	}
	if err != nil {
		problem(w, r, fault.Internal, err.Error())
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), h.app.Host.FunctionTimeout)
		defer cancel()
		_ = h.invoke(ctx, f, "manual", payload)
	}()
	w.WriteHeader(http.StatusAccepted)
}

// hostStatus is GET /admin/host/status: the first instance's status (the
// fields a single-instance devhost always had) and every instance's.
type hostStatus struct {
	status
	Instances []status `json:"instances"`
}

func (h *Host) status() hostStatus {
	out := hostStatus{status: h.procs[0].status()}
	for _, p := range h.procs {
		out.Instances = append(out.Instances, p.status())
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

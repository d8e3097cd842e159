package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/store/azure"
)

// account is a store account nobody calls: New only builds.
func account(t *testing.T) *azure.Account {
	t.Helper()
	a, err := azure.Open(azure.Config{ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
		"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFr4Ptf13y/ae0D3q5Ng==;" +
		"BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestHousekeepingJobs: the modules' own housekeeping, registered by New,
// is the system jobs of DESIGN §4.6 with their schedules and policies,
// each with its action.
func TestHousekeepingJobs(t *testing.T) {
	s := New(account(t), nil)
	want := []jobs.Job{
		{Name: "purge-idempotency", Schedule: "0 7 * * * *", Action: "purge-idempotency", Enabled: true, Timeout: 5 * time.Minute, CatchUp: jobs.CatchUpLast},
		{Name: "audit-retention", Schedule: "0 30 3 * * *", Action: "audit-retention", Enabled: true, Timeout: 5 * time.Minute, CatchUp: jobs.CatchUpLast},
		{Name: "security-alerts", Schedule: "15 * * * * *", Action: "security-alerts", Enabled: true, Timeout: time.Minute, CatchUp: jobs.CatchUpNone},
		{Name: "security-retention", Schedule: "0 30 3 * * *", Action: "security-retention", Enabled: true, Timeout: 5 * time.Minute, CatchUp: jobs.CatchUpLast},
		{Name: "expire-locks", Schedule: "0 */5 * * * *", Action: "expire-locks", Enabled: true, Timeout: 5 * time.Minute, CatchUp: jobs.CatchUpLast},
		{Name: "reconcile-windows", Schedule: "30 * * * * *", Action: "reconcile-windows", Enabled: true, Timeout: time.Minute, CatchUp: jobs.CatchUpNone},
	}
	if got := s.Jobs.SystemJobs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("system jobs:\n got %+v\nwant %+v", got, want)
	}
	for _, j := range want {
		if s.Jobs.Executors[j.Action] == nil {
			t.Errorf("no executor for %s", j.Action)
		}
	}
	if s.Jobs.Executors[jobs.ActionHTTP] == nil {
		t.Error("no executor for customers' http jobs")
	}
}

// TestCyclesAreClosed: the two run-time cycles are wired: deployments apply
// the parameters in a window, and the parameters queue restart-needing
// changes with deployments.
func TestCyclesAreClosed(t *testing.T) {
	s := New(account(t), nil)
	if len(s.Deploy.Appliers) != 1 || s.Deploy.Appliers[0] != s.Params {
		t.Fatalf("deploy appliers: %v", s.Deploy.Appliers)
	}
	if s.Params.Restarts != s.Deploy {
		t.Fatal("parameters do not queue restarts with deployments")
	}
	if _, ok := s.Deploy.Changes.(catalogFeed); !ok {
		t.Fatalf("deployments read %T, not the catalog's feed", s.Deploy.Changes)
	}
}

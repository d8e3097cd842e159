package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// flexEnv is what Flex Consumption sets, and what it does not: the Functions
// host classes an instance as Flex by WEBSITE_SKU=FlexConsumption, or in
// placeholder mode by CONTAINER_NAME with LEGION_SERVICE_HOST, and never sets
// WEBSITE_INSTANCE_ID there (azure-functions-host,
// src/WebJobs.Script/Environment/EnvironmentExtensions.cs IsFlexConsumptionSku,
// IsLinuxConsumptionOnLegion, IsAppService; its test
// EnvironmentExtensionsTests.IsFlexConsumptionSku_ReturnsExpectedResult row
// ("FlexConsumption", "", "container-name", "1", true): "expected state when
// specialized").
var flexEnv = []string{"WEBSITE_SKU=FlexConsumption", "CONTAINER_NAME=collab-flex-0a1b2c", "LEGION_SERVICE_HOST=10.0.0.1", "WEBSITE_INSTANCE_ID="}

// TestFlexConsumptionRunsWithTheCloudPolicy starts the real binary with
// Flex's variables and shows that it fails closed: dev sign-in refused,
// claiming "local" refused, the cloud egress policy in force (a callback to
// loopback is never dialled) and insecure (http) callbacks refused. The same
// callbacks are delivered under COLLAB_ENVIRONMENT=local, so the test can fail.
func TestFlexConsumptionRunsWithTheCloudPolicy(t *testing.T) {
	t.Parallel()
	srv := azuritetest.Server(t)
	base := []string{"PATH=" + os.Getenv("PATH"), "AzureWebJobsStorage=" + srv.ConnectionString()}

	refused := []struct {
		name string
		env  []string
		want string
	}{
		{"dev sign-in", []string{"COLLAB_DEV_AUTH=true"}, "COLLAB_DEV_AUTH=true is refused outside local development"},
		{"mail in clear", []string{"COLLAB_SMTP_HOST=smtp.example.com", "COLLAB_SMTP_TLS=none"}, "COLLAB_SMTP_TLS=none is refused outside local development"},
		{"claiming to be local", []string{"COLLAB_ENVIRONMENT=local", "COLLAB_DEV_AUTH=true"}, "WEBSITE_SKU, LEGION_SERVICE_HOST are set"},
	}
	for _, c := range refused {
		t.Run(c.name+" refused", func(t *testing.T) {
			cmd := exec.Command(handlerBinary(t))
			cmd.Env = append(append(append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(freePort(t))}, base...), flexEnv...), c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Fatalf("want a refusal containing %q; err %v, output:\n%s", c.want, err, out)
			}
		})
	}

	var tlsHits, plainHits atomic.Int32
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tlsHits.Add(1) }))
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	defer plainSrv.Close()
	keys := "COLLAB_EMAIL_CALLBACK_KEYS=c1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

	flex := spawnHandler(t, freePort(t), append(append([]string{keys}, base[1:]...), flexEnv...))
	flex.waitHealthy(t, 20*time.Second)
	if !strings.Contains(flex.Logs(), `"local":false`) {
		t.Errorf("the start-up line does not say the cloud policy:\n%s", flex.Logs())
	}
	acct, err := azure.Open(azure.Config{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	tasks := acct.Table("emailtasks")

	// https to loopback: the egress policy refuses the address; nothing is dialled.
	st := deliverCallback(t, flex, tasks, "flex-tls", tlsSrv.URL+"/done")
	if tlsHits.Load() != 0 || st.Status != mail.CallbackFailed || !strings.Contains(st.LastError, "is refused") {
		t.Errorf("https callback to loopback on Flex: %d requests, state %+v", tlsHits.Load(), st)
	}
	// http: refused as insecure before any connection.
	st = deliverCallback(t, flex, tasks, "flex-http", plainSrv.URL+"/done")
	if plainHits.Load() != 0 || st.Status != mail.CallbackFailed || !strings.Contains(st.LastError, "insecure callbacks are refused") {
		t.Errorf("http callback on Flex: %d requests, state %+v", plainHits.Load(), st)
	}

	// The control: the same binary and storage on a developer's machine.
	local := startHandler(t, srv, keys)
	local.waitHealthy(t, 20*time.Second)
	st = deliverCallback(t, local, tasks, "local-http", plainSrv.URL+"/done")
	if plainHits.Load() != 1 || st.Status != mail.CallbackDelivered {
		t.Errorf("http callback to loopback locally: %d requests, state %+v", plainHits.Load(), st)
	}
}

// deliverCallback stores a completed task whose callback is pending, invokes
// EmailCallback on h as the host does for its last allowed dequeue, and
// returns the callback state the handler recorded.
func deliverCallback(t *testing.T, h *handlerProcess, tasks store.Table, ref, url string) mail.CallbackState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := time.Now().UTC()
	ref += "-" + strconv.FormatInt(now.UnixNano(), 36) // unique in a shared Azurite
	task := mail.Task{Project: "p", Env: "e", ID: ref, Ref: ref, Assignee: "a@example.com", Subject: "s", ExpiresAt: now.Add(time.Hour),
		CallbackURL: url, Status: mail.TaskCompleted, CompletedAt: now, Callback: &mail.CallbackState{Status: mail.CallbackPending}, CreatedAt: now}
	doc, _ := json.Marshal(task)
	if _, err := tasks.Insert(ctx, store.Entity{PartitionKey: ref, RowKey: "task", Props: map[string]any{"Doc": string(doc), "Status": task.Status}}); err != nil {
		t.Fatal(err)
	}
	body := `{"Data":{"msg":{"ref":"` + ref + `"}},"Metadata":{"DequeueCount":` + strconv.Itoa(mail.DefaultMaxAttempts) + `}}`
	resp, err := http.Post(h.base+"/EmailCallback", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("EmailCallback %s: %d; logs:\n%s", ref, resp.StatusCode, h.Logs())
	}
	e, err := tasks.Get(ctx, ref, "task")
	if err != nil {
		t.Fatal(err)
	}
	var got mail.Task
	if err := json.Unmarshal([]byte(e.String("Doc")), &got); err != nil || got.Callback == nil {
		t.Fatalf("task %s after the callback: %v %+v", ref, err, got)
	}
	return *got.Callback
}

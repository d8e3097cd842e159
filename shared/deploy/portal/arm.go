package portal

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/studio-collab/collab/shared/fault"
)

// ARMEndpoint is Azure Resource Manager in the public cloud.
const ARMEndpoint = "https://management.azure.com"

// ARMAPIVersion is the Microsoft.Web API version the restart call uses.
const ARMAPIVersion = "2024-04-01"

// ARMOptions configure an ARM client; the zero value is the public cloud.
type ARMOptions struct {
	Endpoint   string             // default ARMEndpoint
	APIVersion string             // default ARMAPIVersion
	Transport  policy.Transporter // default the SDK's; tests pass a local TLS server's client
	MaxRetries int32              // default 2
}

// ARM restarts App Service sites through Azure Resource Manager:
// POST {endpoint}{siteID}/restart?api-version=…, authorised by a token for
// {endpoint}/.default from the credential (the managed identity in Azure,
// which needs Website Contributor on the customer's Work Portal site).
type ARM struct {
	endpoint, apiVersion string
	pl                   runtime.Pipeline
}

// NewARM returns an ARM client using cred.
func NewARM(cred azcore.TokenCredential, o ARMOptions) (*ARM, error) {
	if cred == nil {
		return nil, fault.E("portal.NewARM", fault.Invalid, "a token credential is required")
	}
	if o.Endpoint == "" {
		o.Endpoint = ARMEndpoint
	}
	if !strings.HasPrefix(o.Endpoint, "https://") {
		return nil, fault.E("portal.NewARM", fault.Invalid, "the ARM endpoint must be https")
	}
	if o.APIVersion == "" {
		o.APIVersion = ARMAPIVersion
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 2
	}
	o.Endpoint = strings.TrimSuffix(o.Endpoint, "/")
	copts := &policy.ClientOptions{Transport: o.Transport, Retry: policy.RetryOptions{MaxRetries: o.MaxRetries}}
	pl := runtime.NewPipeline("collab-deploy", "v1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{o.Endpoint + "/.default"}, nil)},
	}, copts)
	return &ARM{endpoint: o.Endpoint, apiVersion: o.APIVersion, pl: pl}, nil
}

// Restart asks ARM to restart the site siteID (a validated resource id).
func (a *ARM) Restart(ctx context.Context, siteID string) error {
	const op = "portal.ARM.Restart"
	req, err := runtime.NewRequest(ctx, http.MethodPost, a.endpoint+siteID+"/restart")
	if err != nil {
		return fault.E(op, fault.Invalid, "bad resource id", err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", a.apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := a.pl.Do(req)
	if err != nil {
		return fault.E(op, fault.Unavailable, "Azure Resource Manager did not answer", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rerr := runtime.NewResponseError(resp)
		k := fault.Unavailable
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			k = fault.Unprocessable // a wrong id or a missing role: retrying will not help
		}
		return fault.E(op, k, fmt.Sprintf("Azure Resource Manager answered %d to the restart", resp.StatusCode), rerr)
	}
	return nil
}

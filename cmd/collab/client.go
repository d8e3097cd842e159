package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client calls the API with the saved token.
type client struct {
	api, token string
	http       *http.Client
}

func newClient(c config) *client {
	// The transport follows a stamp's 421 to the customer's home (home.go)
	// and retries an overloaded service's 503 or 429 (retry.go).
	return &client{api: strings.TrimSuffix(c.API, "/"), token: c.Token,
		http: &http.Client{Timeout: 60 * time.Second, Transport: newHomeTransport(newRetryTransport(nil))}}
}

// apiError is a problem+json answer, printed as one readable line.
type apiError struct {
	Status int
	Title  string
	Detail string
}

func (e *apiError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s (%d): %s", e.Title, e.Status, e.Detail)
	}
	return fmt.Sprintf("%s (%d)", e.Title, e.Status)
}

// do sends body as JSON (nil: none) and decodes a 2xx answer into out (nil:
// discard). headers may carry Idempotency-Key and the like.
func (c *client) do(method, path string, body, out any, headers ...string) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
		headers = append([]string{"Content-Type", "application/json"}, headers...)
	}
	status, raw, err := c.raw(method, path, b, headers...)
	if err != nil {
		return err
	}
	if status >= 300 {
		return problemError(status, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("unexpected answer from %s %s: %w", method, path, err)
		}
	}
	return nil
}

// raw sends body as is (nil: none) and returns the status and the whole
// answer; a problem answer is returned as is, for a caller that reads its
// extensions (problemError makes it an error).
func (c *client) raw(method, path string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.send(req, headers...)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// problemError is a problem+json answer as one readable error.
func problemError(status int, b []byte) error {
	e := &apiError{Status: status, Title: http.StatusText(status)}
	var p struct{ Title, Detail string }
	if json.Unmarshal(b, &p) == nil && p.Title != "" {
		e.Title, e.Detail = p.Title, p.Detail
	}
	if status == http.StatusUnauthorized && e.Detail == "" {
		e.Detail = "sign in with `collab login`"
	}
	return e
}

// send is the one place requests leave the CLI: it signs req with the saved
// token, sets headers (name, value pairs) and says where it failed to reach.
func (c *client) send(req *http.Request, headers ...string) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w (is `make run` up?)", c.api, err)
	}
	return resp, nil
}

// list follows cursors and returns every item of a list endpoint.
func list[T any](c *client, path string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		p := path
		if cursor != "" {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + "cursor=" + cursor
		}
		var page struct {
			Items []T    `json:"items"`
			Next  string `json:"next"`
		}
		if err := c.do("GET", p, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all, nil
		}
		cursor = page.Next
	}
}

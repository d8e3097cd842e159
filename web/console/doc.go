// Package console holds the web console (Customer Portal, Studio Security,
// the catalog, jobs, the Management Console's parameters and connectors,
// e-mail, the audit log) and serves it: static HTML, CSS and
// JavaScript modules embedded in the handler binary, calling the same JSON
// API under /api as every other client.
//
// Invariants:
//   - every asset is served under /console/assets/<version>/, where version is
//     a hash of every embedded file; those answers are immutable and cached
//     for a year, and an asset of another version is a 404, never stale
//     content under a fresh name;
//   - the page itself (/ and every other /console/ path) is revalidated on
//     every load (no-cache with an ETag), so a deployment is seen at once;
//   - every answer carries the same strict Content-Security-Policy: scripts,
//     styles and images from this origin only, no inline script or style, no
//     eval, no framing, Trusted Types required (so an innerHTML assignment
//     fails in the browser), fetches to this origin and the configured
//     sign-in authority only; plus nosniff, no-referrer and a deny frame
//     policy;
//   - the JavaScript renders every text that comes from the API with
//     textContent or attributes, never as markup.
package console

// Package identity says who the caller is. It verifies bearer tokens with
// go-oidc against configured issuers (an Entra ID tenant in Azure), through
// OpenID discovery over HTTP, and maps their claims to a Principal. Locally,
// a dev issuer signs tokens for any e-mail address; they go through exactly
// the same verification path (discovery, JWKS, signature, audience, expiry).
//
// Invariants:
//   - every failure to authenticate is a fault.Unauthenticated error with a
//     detail saying why, never a 500; a discovery or key fetch that fails is
//     fault.Unavailable (the issuer is down, not the token bad);
//   - discovery is lazy and retried: an issuer that is down at start-up (the
//     dev issuer is served by this very process) does not stop the service;
//   - the dev issuer refuses to exist unless the process is local
//     (COLLAB_ENVIRONMENT=local, which only the devhost and tests set);
//   - a person's address is one the issuer verified (email_verified; for
//     Entra the email claim, never preferred_username or upn); a token
//     without one is refused with the missing scope or claim named;
//   - an issuer's key set is fetched at most once per DefaultKeyRefetch,
//     however many unknown key ids arrive; a failed fetch is Unavailable;
//   - tokens must carry the issuer exactly as the discovery document names
//     it; a configured issuer that the document contradicts (beyond a
//     trailing slash) is a start-up error (CheckIssuers);
//   - user ids are namespaced: an Entra user is its object id (oid), a dev
//     user is "dev-" + a hash of the e-mail, so two issuers never collide.
package identity

// Package store is the Azure Storage adapter of the service: Tables, Blobs
// and Queues built from configuration (an Azurite connection string locally,
// service URIs with a managed identity in Azure), the idempotent bootstrap of
// what the modules declare, key and filter encoding, and one mapping from SDK
// errors to fault kinds so domain code never inspects an SDK error.
//
// Invariants:
//   - correctness rests on single-entity conditional writes (Insert is
//     insert-if-absent; Update and Delete take an ETag); batches are only an
//     optimisation, because Azurite ignores If-Match inside a batch and accepts
//     mixed partition keys (DESIGN §4.4);
//   - no user text reaches a key or an OData filter raw: keys go through
//     EncodeKey, filters through the builder in filter.go;
//   - errors are fault kinds: NotFound (404), PreconditionFailed (412, stale
//     ETag), Conflict (409: already exists, a blob lease held by another, a
//     queue message re-received by another worker),
//     Invalid (400), Unavailable (network, timeouts, 5xx);
//   - Azure's size limits live in limits.go, as data: every entity, batch
//     and message is checked against them before the SDK call and refused
//     as TooLarge naming the field and the limit; a 400/413 that storage
//     returns anyway carries a detail saying which rule it broke;
//   - queue bodies are base64-encoded on the wire, because that is what the
//     Functions host's queue trigger expects by default (messageEncoding).
package store

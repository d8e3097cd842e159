// Package store is the portable store of the service: the one Table,
// Container and Queue interfaces (and the Account that opens them) that
// domain packages hold, the entity and its typed properties, OData filters
// built safely, key encoding, Azure's size limits as data, Doc[T] (a JSON
// document in a column) and the Layout each module declares. It imports no
// SDK: the driver (shared/store/azure) implements it, and the conformance
// suite (shared/store/storetest) says what every driver must do
// (docs/storage.md).
//
// Invariants every driver keeps (storetest checks them):
//   - correctness rests on single-entity conditional writes (Insert is
//     insert-if-absent; Update and Delete take an ETag); batches are only an
//     optimisation, because Azurite ignores If-Match inside a batch and accepts
//     mixed partition keys (DESIGN §4.4);
//   - no user text reaches a key or an OData filter raw: keys go through
//     EncodeKey, filters through the builder in filter.go;
//   - errors are fault kinds: NotFound (404), PreconditionFailed (412, stale
//     ETag), Conflict (409: already exists, a blob lease held by another, a
//     queue message re-received by another worker),
//     Invalid (400), Unavailable (network, timeouts, 5xx, storage not
//     bootstrapped); domain code never inspects a driver's error;
//   - Azure's size limits live in limits.go, as data: every entity, batch
//     and message is checked against them before a request and refused
//     as TooLarge naming the field and the limit (EncodeEntity, CheckMessage).
package store

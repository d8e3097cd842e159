// Package azure is the store's one driver: shared/store's Account, Table,
// Container and Queue on Azure Storage through the Azure SDK, built from
// configuration (an Azurite connection string locally, service URIs with a
// managed identity in Azure), with the idempotent bootstrap of what the
// modules declare and one mapping from SDK errors to fault kinds, so domain
// code never inspects an SDK error. Only the composition root (internal/app,
// the devhost, tests) imports it; its test runs shared/store/storetest
// against Azurite.
//
// Queue bodies are base64-encoded on the wire, because that is what the
// Functions host's queue trigger expects by default (messageEncoding).
package azure

// Package infra holds the Bicep templates of the Azure topology and the Go
// code that checks them offline: every .bicep file is parsed with the
// tree-sitter Bicep grammar (no Bicep CLI or Azure here), and policy tests
// read the parsed resources for the secure defaults DESIGN §6 asks for.
package infra

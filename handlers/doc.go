// Package handlers turns HTTP requests and function invocations into domain
// calls and back. Each handler decodes and validates, authenticates and
// authorizes, calls one domain operation and encodes the answer (STYLE.md:
// thin handlers); business rules live in the shared/<module> packages.
//
// Register is the one place where routes are declared, so the OpenAPI
// document and the function.json routes can be checked against it.
package handlers

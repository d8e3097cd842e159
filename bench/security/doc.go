// Package security benchmarks Studio Security's compiled evaluator against
// the same model expressed in Casbin (github.com/casbin/casbin/v2), in one
// run. It is a separate module so that the product's go.mod does not carry
// Casbin.
package security

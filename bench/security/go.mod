module github.com/studio-collab/collab/bench/security

go 1.26.8

require (
	github.com/casbin/casbin/v2 v2.105.0
	github.com/studio-collab/collab v0.0.0
)

require (
	github.com/bmatcuk/doublestar/v4 v4.6.1 // indirect
	github.com/casbin/govaluate v1.3.0 // indirect
)

replace github.com/studio-collab/collab => ../..

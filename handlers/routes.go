package handlers

import (
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/stamp"
)

// Deps are the domain services the handlers call. Each later module adds its
// service here; main builds them.
type Deps struct {
	Health   Health
	DevAuth  DevAuth
	Platform Platform
	Security Security
	Jobs     Jobs
	Deploy   Deploy
	// The Management Console's parameters and the connectors.
	Params     Params
	Connectors Connectors
	Catalog    Catalog
	Mail       Mail
	Console    *Console // nil: the console's routes answer 404
	// Stamps place this instance among the deployment's stamps (the home
	// check, a dedicated customer); nil: one shared stamp.
	Stamps *stamp.Stamps
	// SecurityEvents serves and records the security center (nil Log: the
	// routes exist, nothing is observed).
	SecurityEvents SecurityEvents
}

// Register declares every HTTP route of the service on rt.
func Register(rt *httpapi.Router, d Deps) {
	useStamps(rt, d.Stamps)
	d.Platform.Stamps = d.Stamps
	registerHealth(rt, d.Health)
	registerDevAuth(rt, d.DevAuth)
	register(rt, d.Platform)
	registerSecurity(rt, d.Security)
	registerJobs(rt, d.Jobs)
	registerDeploy(rt, d.Deploy)
	registerParams(rt, d.Params)
	registerConnectors(rt, d.Connectors)
	registerCatalog(rt, d.Catalog)
	registerMail(rt, d.Mail)
	registerConsole(rt, d.Console)
	registerSecurityEvents(rt, d.SecurityEvents)
}

// RegisterFunctions declares every non-HTTP function (timer, queue, Service
// Bus triggers) on fr; each has a functions/<Name>/function.json.
func RegisterFunctions(fr *fnhost.Router, d Deps) {
	fr.Handle("JobsTick", d.Jobs.tick)
	registerDeployFunctions(fr, d.Deploy)
	registerMailFunctions(fr, d.Mail)
}

package console_test

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/identity/dextest"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestSignInWithDex: the console's authorization code flow with PKCE
// against a real OpenID Connect provider, Dex, over HTTPS on loopback (a
// throw-away CA whose server key Chromium is told to trust): the button
// names the provider, Dex's login form signs ivy in, the console redeems
// the code with its verifier (CORS at Dex's token endpoint) and the API
// accepts Dex's access token. bob, whose address is bound to the dev
// issuer, is refused through Dex and told so on the sign-in screen.
func TestSignInWithDex(t *testing.T) {
	const ivy = "ivy@example.com"
	console := dextest.Client{ID: "collab-console"} // public: PKCE, no secret
	seeder := dextest.Client{ID: "collab-seed", Secret: "seed-secret"}
	dex := dextest.New(t)
	a := handlertest.StartTrusting(t, handlertest.Trust{
		Issuers: []identity.IssuerConfig{{URL: dex.URL, Audiences: []string{console.ID, seeder.ID}}}, Client: dex.Client,
	}, func(d *handlers.Deps) {
		c, err := handlers.NewConsole(handlers.ConsoleConfig{Authority: dex.URL, ClientID: console.ID, Scopes: []string{"openid", "email", "profile"}})
		if err != nil {
			t.Fatal(err)
		}
		d.Console = c
	})
	console.RedirectURIs = []string{a.URL + handlers.ConsoleRedirectPath}
	dex.Run(dextest.Options{Clients: []dextest.Client{console, seeder}, AllowedOrigins: []string{a.URL},
		Users: []dextest.User{{Email: ivy, Name: "Ivy", EmailVerified: true}, {Email: bob, Name: "Bob", EmailVerified: true}}})

	// alice (dev issuer) owns demo and project claims; ivy accepts her
	// invitation with a Dex token; bob accepts his with a dev token.
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "demo", "name": "Demo subscription"}, 201)
	a.Must(t, alice, "POST", "/api/subscriptions/demo/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	inv := a.Must(t, alice, "POST", "/api/subscriptions/demo/users", map[string]any{"email": ivy}, 201)
	a.Must(t, "Bearer "+dex.Token(t, seeder, ivy, "openid email profile"), "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200)
	a.Must(t, alice, "PUT", "/api/projects/claims/members/"+userID(ivy), map[string]any{"role": "developer"}, 201)
	a.Invite(t, alice, "demo", bob)

	b := consoletest.New(t, a.URL, consoletest.TrustKey(dex.Leaf.SPKIHash))
	tab := b.Laptop("dex")
	tab.Go("/console/signin")
	tab.WaitText("Your organisation account")
	host := strings.TrimPrefix(strings.TrimSuffix(dex.URL, "/dex"), "https://")
	var text string
	tab.Eval(`document.getElementById('main').innerText`, &text)
	if strings.Contains(text, "Microsoft") || !strings.Contains(text, "Sign in through "+host) {
		t.Fatalf("the sign-in screen for Dex:\n%s", text)
	}
	tab.Click("Sign in with " + host)
	tab.WaitJS(`!!document.querySelector('#login')`) // Dex's own login form
	tab.Fill("", "Email Address", ivy)
	tab.Fill("", "Password", dextest.Password)
	tab.Click("Login")
	tab.WaitText("Welcome, Ivy")
	tab.WaitText("Claims")
	tab.Screenshot("signin-dex")

	// bob's address is bound to the dev issuer: Dex's bob is refused.
	other := b.Laptop("dex-bob")
	other.Go("/console/signin")
	other.Click("Sign in with " + host)
	other.WaitJS(`!!document.querySelector('#login')`)
	other.Fill("", "Email Address", bob)
	other.Fill("", "Password", dextest.Password)
	other.Click("Login")
	other.WaitText("bound to another sign-in identity")
	other.WaitText("You were signed out") // on the sign-in screen, where another account can be chosen
	other.Screenshot("signin-dex-bound-elsewhere")
}

package handlers

import (
	"testing"

	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestMain gives this package's tests (internal and external) one Azurite.
func TestMain(m *testing.M) { azuritetest.Main(m) }

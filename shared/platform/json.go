package platform

import (
	"encoding/json"

	"github.com/studio-collab/collab/shared/fault"
)

func jsonUnmarshal(s string, into any) error {
	if err := json.Unmarshal([]byte(s), into); err != nil {
		return fault.E("platform.decode", fault.Internal, err)
	}
	return nil
}

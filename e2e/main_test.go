package e2e

import (
	"os"
	"testing"

	"github.com/bayannur/hotline/internal/testkit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.RemoveBinary() // the hotline binary the tests built
	os.Exit(code)
}

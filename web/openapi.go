package web

import (
	_ "embed"
	"net/http"
)

// openapiJSON documents every route; TestOpenAPICoversEveryRoute keeps it honest.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(openapiJSON)
}

// Package http is tlserve's HTTP interface: a chi router, its handlers and
// middleware. Handlers decode a request, call one of the small dependencies
// this package declares (Backbone, Heads, Models, Jobs), and encode the
// response; nothing else in tlserve imports net/http.
//
// Every error answer has the shape
//
//	{"error": {"code": "...", "message": "...", "request_id": "..."}}
//
// and its status comes from one table in error.go.
package http

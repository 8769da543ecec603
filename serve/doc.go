// Package serve runs Minkube's HTTP servers (the manager API and the
// worker API) bounded, so that no client can hold one up:
//
//   - the request headers must arrive within ReadHeaderTimeout and the
//     whole request, body included, within ReadTimeout: a client that
//     sends headers and then trickles a body is cut off. Once the body is
//     read to its end (or there is none) net/http lifts the deadline, so
//     a watch or a followed log streams for as long as it needs;
//   - an idle keep-alive connection is closed after IdleTimeout;
//   - the open connections are capped (MaxConns): past the cap new ones
//     wait in the kernel's backlog instead of exhausting the process's
//     file descriptors;
//   - HTTP/2 is off: every limit above is an HTTP/1.1 one.
//
// The limits sit in the server, around whatever handler it serves, so a
// route added later gets them too. What a handler must still do itself:
// authenticate before it reads a body, bound the body
// (http.MaxBytesReader, 413), count failed authentications per client
// (Throttle), and never put an internal error's text in an answer (log
// it under an ErrorID and answer with the id).
package serve

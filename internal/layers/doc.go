// Package layers holds the test of the module's import layering. It has no
// code of its own: the check is a test, so make test runs it.
//
// layers_test.go reads `go list -json ./...` and checks three things:
//
//   - every package of the module sits in one layer of the rule table, and
//     imports module packages only of its own layer or of layers the table
//     lets it use (edges → runtime → actors and persistence → configuration
//     → wire encodings → the pure cores → messages);
//   - no package under actors/ or persistence/ imports runtime/... (test
//     files neither, except the follower tests that run a whole node);
//   - the pure cores, messages and the wire encodings reach, through all
//     their dependencies (`go list -deps`), no network, no actor library and
//     no third-party package beyond uint256 and decimal; what the standard
//     library's fmt brings with it is allowed.
package layers

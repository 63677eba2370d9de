// Package lint holds checks over the module's own source that go vet does
// not make. It has no code of its own: the checks are tests, so make test
// runs them.
//
// funclen_test.go parses every non-test .go file of the module (testdata,
// vendor and hidden folders and generated files left out) and fails on any
// function or method longer than MaxFuncLines, unless its body is one flat
// switch:
//
//   - exactly one top-level statement of the body is a switch or a type
//     switch;
//   - the other top-level statements hold no if, for, select or block and
//     take at most 6 lines together (a line or two to set up, a return);
//   - each case clause takes at most 12 lines, case line included, and
//     holds no switch, type switch or select.
//
// A longer case belongs in a function of its own.
package lint

// MaxFuncLines is the longest a function may be, counted from the line of
// its func keyword to the line of its closing brace, both included.
const MaxFuncLines = 70

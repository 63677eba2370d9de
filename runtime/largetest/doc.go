// Package largetest holds the tests of commands whose one journal record is
// far larger than a segment-file frame or a MySQL row may be (a sweep of
// 400,000 makers, a dead-man's switch cancelling 400,000 orders). They are a
// package of their own so that their minutes under the race detector count
// against their own test timeout, not the runtime package's.
package largetest

// Package journal stores the exchange's events durably, in LSN order.
//
// A Backend appends framed records and syncs them; Open recovers its durable
// prefix. The embedded backend (Files) keeps segment files under a
// directory: each record is
//
//	length  uint32 LE   bytes after the CRC
//	crc     uint32 LE   CRC-32C of those bytes
//	version uint8       codec.Version
//	lsn     uint64 LE
//	count   uvarint     events in the record
//	events  each a 3-byte uvarint length and its codec bytes
//
// A record whose body would exceed ChunkSize (1 MiB) — one command with
// hundreds of thousands of events — is written as consecutive chunks that
// share its LSN, each with the chunk flag in its version byte and its index
// and the chunk count after the LSN (see chunkFlag). Readers hand a record
// on only once all its chunks are read.
//
// A record whose length or checksum does not hold at the end of the last
// segment is a torn tail (the process died mid-write): Open reports it and
// cuts the segment there — where the record began, when the tear is inside
// its chunks, so a command is never replayed in part. The same damage
// anywhere else, or chunks out of order, is corruption and Open refuses to
// continue.
//
// The MySQL backend (OpenMySQL) keeps the same bodies — version, LSN,
// events — as table rows (lsn, chunk, version, body = the events, crc), one
// transaction of multi-row INSERTs per commit, so a record's chunks land
// together. Rows cannot be torn, so any damage there is corruption. Both
// backends share the body codec (appendBodies, parseBody, assembler) and its
// CRC-32C.
package journal

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
// A record whose length or checksum does not hold at the end of the last
// segment is a torn tail (the process died mid-write): Open reports it and
// cuts the segment there. The same damage anywhere else is corruption and
// Open refuses to continue.
//
// The MySQL backend (OpenMySQL) keeps the same record body — version, LSN,
// events — as a table row (lsn, version, body = the events, crc), one
// transaction of multi-row INSERTs per commit. Rows cannot be torn, so any
// damage there is corruption. Both backends share the body codec
// (appendBody, decodeBody) and its CRC-32C.
package journal

// Package raftlog is the Raft log of a replicated Bourse kept in the
// journal: an implementation of go.etcd.io/raft/v3's Storage whose entries
// are the journal's own records (persistence/journal), one record per Raft
// entry and the record's LSN equal to the entry's index. There is one log,
// not a journal beside a second log: what a node replays at start, what
// followers read and what Raft replicates are the same records. docs/cluster.md
// describes the whole design; this package is its storage.
//
// What a record cannot say is kept in a small metadata file beside the
// segments (raft.meta, rewritten whole by journal.WriteFileAtomic):
//
//   - the HardState (term, vote, commit);
//   - the metadata of the newest snapshot (index, term, ConfState), whose
//     data is the file raft-<index>.snap (for Bourse, an encoded
//     persistence/snapshot.File);
//   - the terms of the entries, as runs: the entries from a run's index on
//     have its term until the next run (terms change only at elections, so
//     the list stays short and the file is rewritten only then);
//   - the entries that are not commands (conf changes), with their type and
//     data; in the journal they are records without events, as is the
//     empty entry a new leader appends.
//
// A normal entry's data is its record's events (EncodeEvents); the record
// written is Record{LSN: index, Events: DecodeEvents(data)}.
//
// Durability order, so that a crash at any point leaves a log Raft may
// restart from: an Append that replaces a tail first cuts the journal
// (journal.Files.TruncateAfter, fsynced), then saves the metadata if the
// new entries add a term or a conf change, then writes and fsyncs the
// records. Opening trims the metadata to the records found, so terms saved
// for records a crash tore off are forgotten. A snapshot that replaces the
// log (ApplySnapshot) is saved with a reset mark before the segments are
// removed; opening finishes a reset that a crash interrupted.
//
// Reads (Entries, Term) are served by a raft.MemoryStorage that holds the
// entries after the snapshot; Open rebuilds it from the journal.
package raftlog

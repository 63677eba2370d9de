// Package clustersim is the deterministic simulation of a replicated
// Bourse (docs/cluster.md "The cluster simulation"): three or five
// members in one process, each a go.etcd.io/raft/v3 RawNode over its own
// Raft log on the journal (persistence/raftlog), applying committed
// entries to a runtime.State, on a simulated network and clock driven by
// one seed. The leader decides commands of the project's workload
// generator (internal/coretest) with the pure cores and proposes their
// events; the network loses, delays, duplicates and reorders messages and
// partitions members (one way too); members crash, sometimes tearing the
// tail of their journal, and restart from their directories; the leader
// adds learners, promotes them and removes members (ConfChangeV2).
//
// Checked continuously and after every epoch: at most one leader per
// term; the same entry at the same index on every member; no balance
// update and no order id committed twice; every acknowledged write is the
// committed entry at its index; equal state hash at equal index;
// conservation and frozen = reserved on every member. A run ends by
// healing everything: the members must converge on one index and hash.
//
// It is imported by tests only (sim_test.go; make simulate-cluster).
package clustersim

package runtime

import (
	"context"
	"io"
	"time"
)

// Follow runs fl on the node's feed until Shutdown, in batches of at most
// batch records. If fl is an io.Closer it is closed at Shutdown, after it
// caught up with the journal's last record (or the shutdown deadline
// passed). Without a journal (no Feed) Follow does nothing.
func (n *Node) Follow(fl Follower, batch int) {
	if n.Feed == nil {
		return
	}
	n.followMu.Lock()
	defer n.followMu.Unlock()
	if n.followCtx == nil {
		n.followCtx, n.followStop = context.WithCancel(context.Background())
	}
	n.Feed.Follow(n.followCtx, fl, batch, n.log)
	n.followers = append(n.followers, fl)
}

// FollowerDrain bounds how long Shutdown waits for followers to catch up
// when its context has no deadline.
const FollowerDrain = 10 * time.Second

// stopFollowers waits until every follower has stored the durable end of
// the journal or ctx ends, then stops them and closes their sinks.
func (n *Node) stopFollowers(ctx context.Context) error {
	n.followMu.Lock()
	defer n.followMu.Unlock()
	if n.followStop == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, FollowerDrain)
		defer cancel()
	}
	for _, fl := range n.followers {
		for ctx.Err() == nil {
			lag, ok := n.Feed.Lag(fl.Name())
			if !ok || lag == 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	n.followStop()
	var first error
	for _, fl := range n.followers {
		n.Feed.Wait(fl.Name())
		if c, ok := fl.(io.Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	n.followers = nil
	return first
}

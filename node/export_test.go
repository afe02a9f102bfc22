package node

// SchedulingPasses is how many passes this node's scheduling loop has
// started, over all its terms as leader.
func (n *Node) SchedulingPasses() uint64 { return n.schedPasses.Load() }

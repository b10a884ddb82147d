package egress

// RepublishNow runs one re-publish round on the calling goroutine, as the
// re-publisher does after a reconnect, and returns when the broker
// acknowledged it.
func RepublishNow(g *Guard) { g.republish() }

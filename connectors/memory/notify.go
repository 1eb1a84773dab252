package memory

// Change says that an item was created, edited, commented on or deleted,
// by a connector or by a person. It is what a webhook would announce.
type Change struct {
	Key string
	Seq int64 // the tracker's change counter: later changes have larger values
}

// Subscribe returns a channel that receives a Change for every change to
// any item, and a function that ends the subscription and closes the
// channel. Like webhooks, notifications are lossy: when the channel's
// buffer (buf, at least 1) is full the change is dropped and counted in
// Dropped, and never blocks the tracker. Tests turn changes into webhook
// deliveries with NewWebhookRequest.
func (tr *Tracker) Subscribe(buf int) (<-chan Change, func()) {
	ch := make(chan Change, max(buf, 1))
	tr.mu.Lock()
	if tr.subs == nil {
		tr.subs = map[int]chan Change{}
	}
	tr.nextSub++
	id := tr.nextSub
	tr.subs[id] = ch
	tr.mu.Unlock()
	return ch, func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if c, ok := tr.subs[id]; ok {
			delete(tr.subs, id)
			close(c)
		}
	}
}

// Dropped returns how many notifications were dropped on full channels.
func (tr *Tracker) Dropped() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.dropped
}

// notifyLocked sends key to every subscriber without blocking.
func (tr *Tracker) notifyLocked(key string) {
	if len(tr.subs) == 0 {
		return
	}
	tr.seq++
	c := Change{Key: key, Seq: tr.seq}
	for _, ch := range tr.subs {
		select {
		case ch <- c:
		default:
			tr.dropped++
		}
	}
}
